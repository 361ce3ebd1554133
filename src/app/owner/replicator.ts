import type { IndexStore, PackRecord, PeerRecord, ShareRecord } from '../../core/ports/index-store.js'
import type { ObjectStore } from '../../core/ports/object-store.js'
import type { Poseidon } from '../../core/ports/poseidon.js'
import type { Clock } from '../../core/ports/clock.js'
import type { Logger } from '../../core/ports/logger.js'
import type { ShareKeys } from '../../core/crypto/index.js'
import { BackupError, rethrowIfBug } from '../../core/errors.js'
import { commitmentOf, idToField } from '../../core/proofs/index.js'
import { receiptToJson } from '../../core/protocol/index.js'
import { choosePeers, siteOf } from '../../core/replication/index.js'
import { shortHex, toHex, utf8 } from '../../shared/bytes.js'
import { Semaphore } from '../../shared/semaphore.js'
import { BufferPool, type BufferPoolOptions, type PooledBytes } from '../../shared/buffer-pool.js'
import { PACK_MAX_BYTES } from '../../core/pack/index.js'
import { TokenBucket } from '../../shared/token-bucket.js'
import type { PeerPool } from './peer-pool.js'
import type { OwnerKeys } from './owner-keys.js'

export interface ReplicationProgress {
  packsDone: number
  packsTotal: number
  bytesSent: number
  /** Distinct peers that took a copy in this run. */
  peers: number
}

export interface ReplicationResult {
  /** Packs of the share with fewer good copies than it asks for. */
  short: number
  packs: number
}

/** Packs uploaded at once; each goes to its peers in parallel. */
const PACK_CONCURRENCY = 2
/**
 * The packs being uploaded are read into these few buffers, reused from pack to pack: a fresh
 * 16 MiB buffer per pack lives until a full garbage collection, and nine of them were alive at
 * once at the peak of a 1 GiB backup. One size (the largest pack) so any pack fits any buffer;
 * the pages past a pack's end are never touched.
 */
const UPLOAD_BUFFERS: Readonly<BufferPoolOptions> = { maxIdle: PACK_CONCURRENCY, maxIdleBytes: PACK_CONCURRENCY * PACK_MAX_BYTES, granule: PACK_MAX_BYTES, idleMs: 30_000 }

/** Replica states that count as a copy. */
export const GOOD_REPLICA = new Set(['stored', 'healthy'])

/**
 * Brings every pack of a share to its number of copies: each pack goes to distinct peers chosen
 * by the placement policy; a copy counts once the peer's signed receipt for exactly that pack is
 * verified and recorded. A pack with all its copies leaves the local spool. Peers that fail are
 * left out for the rest of the run; a pack short of copies stays spooled for the next run.
 */
export class Replicator {
  /** The owner's upload limit over all peers (absent: none). */
  readonly #bucket: TokenBucket | null
  readonly #buffers = new BufferPool(UPLOAD_BUFFERS)

  constructor(private readonly deps: { index: IndexStore; spool: ObjectStore; pool: PeerPool; poseidon: Poseidon; clock: Clock; log: Logger; uploadLimitBytesPerSec?: number }) {
    const limit = deps.uploadLimitBytesPerSec ?? 0
    this.#bucket = limit > 0 ? new TokenBucket(limit, Math.max(limit, 1024 * 1024)) : null
  }

  async replicate(share: ShareRecord, keys: ShareKeys, owner: OwnerKeys, onProgress?: (p: ReplicationProgress) => void): Promise<ReplicationResult> {
    const { index, spool, pool, log } = this.deps
    const packs = index.listPacks(share.shareId)
    const holders = new Map<string, Set<string>>()
    /** Peers holding a bad copy of a pack: not sent it again (a lost copy may be). */
    const badAt = new Map<string, Set<string>>()
    const load = new Map<string, number>()
    for (const r of index.listReplicasOfShare(share.shareId)) {
      if (r.status === 'bad') badAt.set(toHex(r.packId), (badAt.get(toHex(r.packId)) ?? new Set<string>()).add(toHex(r.nodeId)))
      if (!GOOD_REPLICA.has(r.status)) continue
      const set = holders.get(toHex(r.packId)) ?? new Set<string>()
      set.add(toHex(r.nodeId))
      holders.set(toHex(r.packId), set)
      load.set(toHex(r.nodeId), (load.get(toHex(r.nodeId)) ?? 0) + 1)
    }
    const todo: PackRecord[] = []
    let short = 0
    for (const p of packs) {
      if ((holders.get(toHex(p.packId))?.size ?? 0) >= share.copies) continue
      if (await spool.has(p.packId)) todo.push(p)
      else short++ // its local copy is gone: repair (audits) brings it back from a replica
    }
    const progress: ReplicationProgress = { packsDone: 0, packsTotal: todo.length, bytesSent: 0, peers: 0 }
    const used = new Set<string>()
    const failed = new Set<string>()
    const limit = new Semaphore(PACK_CONCURRENCY)
    onProgress?.(progress)
    await Promise.all(
      todo.map(async (pack) => {
        const release = await limit.acquire()
        let buffer: PooledBytes | null = null
        try {
          const have = holders.get(toHex(pack.packId)) ?? new Set<string>()
          const size = await spool.size(pack.packId)
          buffer = this.#buffers.take(size)
          const bytes = await spool.getRange(pack.packId, 0, size, buffer.bytes)
          const commitment = commitmentOf(this.deps.poseidon, keys.proofKey, idToField(pack.packId)).toString()
          for (;;) {
            const want = share.copies - have.size
            const bad = badAt.get(toHex(pack.packId))
            const active = pool.active()
            const candidates = active.filter((p) => !have.has(toHex(p.nodeId)) && !failed.has(toHex(p.nodeId)) && !bad?.has(toHex(p.nodeId)))
            const holderSites = active.filter((p) => have.has(toHex(p.nodeId))).map((p) => siteOf(p.url))
            const targets = choosePeers(candidates.map((p) => ({ id: toHex(p.nodeId), load: load.get(toHex(p.nodeId)) ?? 0, score: p.audit.score, failedLast: p.audit.consecutiveFailures > 0, ...siteOf(p.url), peer: p })), want, holderSites).map((c) => c.peer)
            if (want <= 0 || targets.length === 0) break
            // allSettled: a bug in one upload must not release the buffer while others read it.
            const settled = await Promise.allSettled(
              targets.map(async (peer) => {
                const hex = toHex(peer.nodeId)
                load.set(hex, (load.get(hex) ?? 0) + 1)
                try {
                  await this.#storeOne(peer, pack, bytes, commitment, owner)
                  have.add(hex)
                  used.add(hex)
                  progress.bytesSent += bytes.length
                } catch (err) {
                  rethrowIfBug(err)
                  failed.add(hex)
                  load.set(hex, (load.get(hex) ?? 1) - 1)
                  log.warn({ peer: hex.slice(0, 16), pack: shortHex(pack.packId), code: err instanceof BackupError ? err.code : 'UNKNOWN' }, 'A peer did not take a pack; trying others')
                }
              }),
            )
            for (const s of settled) if (s.status === 'rejected') throw s.reason
          }
          holders.set(toHex(pack.packId), have)
          if (have.size >= share.copies) {
            index.setPackState(pack.packId, 'replicated')
            await spool.delete(pack.packId)
          } else {
            index.setPackState(pack.packId, 'replicating')
            short++
          }
        } finally {
          // Every upload of the pack has settled (allSettled above): nothing reads it any more.
          buffer?.release()
          progress.packsDone++
          progress.peers = used.size
          onProgress?.(progress)
          release()
        }
      }),
    )
    return { short, packs: packs.length }
  }

  async #storeOne(peer: PeerRecord, pack: PackRecord, bytes: Uint8Array, commitment: string, owner: OwnerKeys): Promise<void> {
    const { pool, index, clock } = this.deps
    const wait = this.#bucket?.reserve(bytes.length, clock.nowMs()) ?? 0
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    await pool.ensureOwnerKey(peer, owner.verificationKey)
    const receipt = await pool.client(peer).store({ objectId: pack.packId, ownerNodeId: owner.identity.nodeId, commitment, merkleRoot: pack.merkleRoot, ownerKeySha256: owner.verificationKeySha256, bytes })
    index.putReplica({ packId: pack.packId, nodeId: peer.nodeId, receipt: utf8(JSON.stringify(receiptToJson(receipt))), storedAtMs: clock.nowMs(), merkleRoot: receipt.merkleRoot, lastAuditMs: null, status: 'stored', failures: 0 })
  }
}
