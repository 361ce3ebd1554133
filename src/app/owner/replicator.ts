import type { IndexStore, PackRecord, PeerRecord, ShareRecord } from '../../core/ports/index-store.js'
import type { ObjectStore } from '../../core/ports/object-store.js'
import type { Poseidon } from '../../core/ports/poseidon.js'
import type { Sodium } from '../../core/ports/sodium.js'
import type { StreamedBody } from '../../core/ports/peer-client.js'
import type { PackId } from '../../core/ids.js'
import type { Clock } from '../../core/ports/clock.js'
import type { Logger } from '../../core/ports/logger.js'
import type { ShareKeys } from '../../core/crypto/index.js'
import { BackupError, rethrowIfBug } from '../../core/errors.js'
import { commitmentOf, idToField } from '../../core/proofs/index.js'
import { receiptToJson } from '../../core/protocol/index.js'
import { choosePeers, siteOf } from '../../core/replication/index.js'
import { shortHex, toHex, utf8 } from '../../shared/bytes.js'
import { Semaphore } from '../../shared/semaphore.js'
import { BufferPool, type BufferPoolOptions } from '../../shared/buffer-pool.js'
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
 * Packs go out from the spool file in pieces of this size, never read whole: the owner's memory
 * for uploads is a piece per upload, not a pack per upload. A fresh buffer per piece would live
 * until a garbage collection, so the few in use are reused (a piece's buffer is free again when
 * the client asks for the next, StreamedBody's contract).
 */
const PIECE_BYTES = 1024 * 1024
const PIECE_BUFFERS: Readonly<BufferPoolOptions> = { maxIdle: 8, maxIdleBytes: 8 * PIECE_BYTES, granule: PIECE_BYTES, idleMs: 30_000 }

/** A spooled pack being uploaded; a failure to read it is the spool's, not the peer's. */
interface SpooledBody extends StreamedBody {
  readFailure: unknown
}

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
  readonly #pieces = new BufferPool(PIECE_BUFFERS)

  constructor(private readonly deps: { index: IndexStore; spool: ObjectStore; pool: PeerPool; poseidon: Poseidon; sodium: Sodium; clock: Clock; log: Logger; uploadLimitBytesPerSec?: number }) {
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
        try {
          const have = holders.get(toHex(pack.packId)) ?? new Set<string>()
          const bytes = await this.#spooled(pack.packId)
          const commitment = commitmentOf(this.deps.poseidon, keys.proofKey, idToField(pack.packId)).toString()
          for (;;) {
            const want = share.copies - have.size
            const bad = badAt.get(toHex(pack.packId))
            const active = pool.active()
            const candidates = active.filter((p) => !have.has(toHex(p.nodeId)) && !failed.has(toHex(p.nodeId)) && !bad?.has(toHex(p.nodeId)))
            const holderSites = active.filter((p) => have.has(toHex(p.nodeId))).map((p) => siteOf(p.url))
            const targets = choosePeers(candidates.map((p) => ({ id: toHex(p.nodeId), load: load.get(toHex(p.nodeId)) ?? 0, score: p.audit.score, failedLast: p.audit.consecutiveFailures > 0, ...siteOf(p.url), peer: p })), want, holderSites).map((c) => c.peer)
            if (want <= 0 || targets.length === 0) break
            // allSettled: every upload of the pack has ended before the next round or pack.
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
                  if (bytes.readFailure) throw bytes.readFailure // the local spool failed, not the peer
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
          progress.packsDone++
          progress.peers = used.size
          onProgress?.(progress)
          release()
        }
      }),
    )
    return { short, packs: packs.length }
  }

  /**
   * A spooled pack as a body read from its file: hashed in one pass (the request signature needs
   * the hash first), then read again, piece by piece, for each peer it goes to.
   */
  async #spooled(packId: PackId): Promise<SpooledBody> {
    const { spool, sodium } = this.deps
    const length = await spool.size(packId)
    const buffers = this.#pieces
    const body: SpooledBody = { length, sha256: new Uint8Array(0), pieces: read, readFailure: null }
    async function* read(): AsyncGenerator<Uint8Array> {
      const piece = buffers.take(Math.min(PIECE_BYTES, length))
      try {
        for (let at = 0; at < length; at += PIECE_BYTES) yield await spool.getRange(packId, at, Math.min(PIECE_BYTES, length - at), piece.bytes)
      } catch (err) {
        body.readFailure ??= err
        throw err
      } finally {
        piece.release()
      }
    }
    const hash = sodium.sha256Incremental()
    for await (const piece of read()) hash.update(piece)
    return Object.assign(body, { sha256: hash.digest() })
  }

  async #storeOne(peer: PeerRecord, pack: PackRecord, bytes: SpooledBody, commitment: string, owner: OwnerKeys): Promise<void> {
    const { pool, index, clock } = this.deps
    const wait = this.#bucket?.reserve(bytes.length, clock.nowMs()) ?? 0
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    await pool.ensureOwnerKey(peer, owner.verificationKey)
    const receipt = await pool.client(peer).store({ objectId: pack.packId, ownerNodeId: owner.identity.nodeId, commitment, merkleRoot: pack.merkleRoot, ownerKeySha256: owner.verificationKeySha256, bytes })
    index.putReplica({ packId: pack.packId, nodeId: peer.nodeId, receipt: utf8(JSON.stringify(receiptToJson(receipt))), storedAtMs: clock.nowMs(), merkleRoot: receipt.merkleRoot, lastAuditMs: null, status: 'stored', failures: 0 })
  }
}
