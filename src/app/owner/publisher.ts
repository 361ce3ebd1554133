import type { IndexStore, PeerRecord, ShareRecord } from '../../core/ports/index-store.js'
import type { Sodium } from '../../core/ports/sodium.js'
import type { Clock } from '../../core/ports/clock.js'
import type { Logger } from '../../core/ports/logger.js'
import type { PeerClient } from '../../core/ports/peer-client.js'
import type { ShareKeys } from '../../core/crypto/index.js'
import { BackupError, isBackupError, rethrowIfBug } from '../../core/errors.js'
import { identityFromSeed } from '../../core/identity.js'
import { signBlob, signPointer, type SignedPointer } from '../../core/protocol/index.js'
import { encodeCatalog, sealOwnerPointer, sealSharePointer, type PeerRef, type ShareCatalog } from '../../core/snapshot/index.js'
import { toHex } from '../../shared/bytes.js'
import type { IngestService } from '../ingest-service.js'
import type { PeerPool } from './peer-pool.js'
import type { OwnerKeys } from './owner-keys.js'
import { GOOD_REPLICA, type Replicator, type ReplicationProgress } from './replicator.js'

export interface PublishResult {
  /** Every pack of the share has its copies and the pointer reached at least one peer. */
  complete: boolean
  shortPacks: number
  pointerPeers: number
}

/**
 * Makes a share's state findable from the keys alone: replicates its packs, writes its catalog
 * (snapshots and where each pack's copies are) as packs too, then signs and stores the share
 * pointer and the owner pointer on every active peer, with the owner's public proof keys beside
 * them as blobs. Pointer sequence numbers are times in ms (never below the last one + 1), so a
 * recovered node continues the sequence without knowing it.
 */
export class Publisher {
  /** Peers that hold the owner's proof-key blobs (this process). */
  readonly #blobbed = new Set<string>()
  #ownerSeq = 0

  constructor(private readonly deps: { sodium: Sodium; index: IndexStore; pool: PeerPool; ingest: IngestService; replicator: Replicator; clock: Clock; log: Logger }) {}

  async publish(share: ShareRecord, keys: ShareKeys, owner: OwnerKeys, onProgress?: (p: ReplicationProgress) => void): Promise<PublishResult> {
    const { index, replicator } = this.deps
    await replicator.replicate(share, keys, owner, onProgress)
    const catalog = this.catalog(share)
    const refs = await this.deps.ingest.storeBlob(share.shareId, keys, encodeCatalog(catalog))
    const { short } = await replicator.replicate(share, keys, owner, onProgress)
    // The pointer names the peers that hold the catalog's packs.
    const catalogPacks = new Set(refs.map((r) => toHex(r.packId)))
    const holders = new Map<string, PeerRecord>()
    for (const r of index.listReplicasOfShare(share.shareId)) {
      if (!catalogPacks.has(toHex(r.packId)) || !GOOD_REPLICA.has(r.status)) continue
      const p = index.getPeer(r.nodeId)
      if (p) holders.set(toHex(p.nodeId), p)
    }
    const { pool, sodium } = this.deps
    const locator = identityFromSeed(sodium, keys.locatorSeed)
    const value = sealSharePointer(sodium, keys.pointerKey, locator.nodeId, {
      catalog: refs,
      peers: [...holders.values()].slice(0, 8).map((p) => pool.ref(p)),
      ownerLocator: owner.locator.nodeId,
      provingKeySha256: owner.provingKeySha256,
      verificationKeySha256: owner.verificationKeySha256,
    })
    const seq = Math.max(this.deps.clock.nowMs(), share.pointerSeq + 1)
    const pointer = signPointer(sodium, locator.secretKey, locator.nodeId, seq, value)
    const pointerPeers = holders.size === 0 ? 0 : await this.#putEverywhere((c) => c.putPointer(pointer), pointer)
    if (pointerPeers > 0) index.updateShare(share.shareId, { pointerSeq: seq })
    await this.publishOwner(owner)
    return { complete: short === 0 && pointerPeers > 0, shortPacks: short, pointerPeers }
  }

  /** Uploads the share's packs that lack copies, nothing else (a backup calls it while it reads). */
  async upload(share: ShareRecord, keys: ShareKeys, owner: OwnerKeys): Promise<void> {
    await this.deps.replicator.replicate(share, keys, owner)
  }

  /** The share catalog as the index knows it now. */
  catalog(share: ShareRecord): ShareCatalog {
    const { index, pool } = this.deps
    const peers: PeerRef[] = []
    const at = new Map<string, number>()
    const placement = new Map<string, number[]>()
    for (const r of index.listReplicasOfShare(share.shareId)) {
      if (!GOOD_REPLICA.has(r.status)) continue
      const hex = toHex(r.nodeId)
      if (!at.has(hex)) {
        const p = index.getPeer(r.nodeId)
        if (!p) continue
        at.set(hex, peers.length)
        peers.push(pool.ref(p))
      }
      const list = placement.get(toHex(r.packId)) ?? []
      list.push(at.get(hex) as number)
      placement.set(toHex(r.packId), list)
    }
    return {
      snapshots: index.listSnapshots(share.shareId).map((s) => s.summary),
      peers,
      packs: index.listPacks(share.shareId).map((p) => ({ packId: p.packId, sizeBytes: p.sizeBytes, merkleRoot: p.merkleRoot, peers: placement.get(toHex(p.packId)) ?? [] })),
    }
  }

  /** The owner pointer (shares, peers, proof-key hashes) and the proof-key blobs, on every active peer. */
  async publishOwner(owner: OwnerKeys): Promise<number> {
    const { index, pool, sodium } = this.deps
    const shares = index.listShares().filter((s) => s.path !== null)
    const peers = pool.active().slice(0, 16)
    if (peers.length === 0) return 0
    const value = sealOwnerPointer(sodium, owner.pointerKey, owner.locator.nodeId, {
      shares: shares.map((s) => ({ shareId: s.shareId, name: s.name, path: s.path as string, copies: s.copies, schedule: s.schedule, watch: s.watch })),
      peers: peers.map((p) => pool.ref(p)),
      provingKeySha256: owner.provingKeySha256,
      verificationKeySha256: owner.verificationKeySha256,
    })
    this.#ownerSeq = Math.max(this.deps.clock.nowMs(), this.#ownerSeq + 1)
    const pointer = signPointer(sodium, owner.locator.secretKey, owner.locator.nodeId, this.#ownerSeq, value)
    let blobs: Array<{ bytes: Uint8Array; sha: Uint8Array }> | null = null
    return this.#putEverywhere(async (c, peer) => {
      await c.putPointer(pointer)
      if (this.#blobbed.has(toHex(peer.nodeId))) return
      blobs ??= [
        { bytes: await owner.provingKey(), sha: owner.provingKeySha256 },
        { bytes: owner.verificationKey, sha: owner.verificationKeySha256 },
      ]
      for (const b of blobs) await c.putBlob(owner.locator.nodeId, signBlob(sodium, owner.locator.secretKey, owner.locator.nodeId, b.sha, b.bytes.length), b.bytes)
      this.#blobbed.add(toHex(peer.nodeId))
    })
  }

  /** Runs `put` on every active peer; returns how many succeeded. A stale sequence is logged, not fatal. */
  async #putEverywhere(put: (c: PeerClient, peer: PeerRecord) => Promise<unknown>, pointer?: SignedPointer): Promise<number> {
    const { pool, log } = this.deps
    const results = await Promise.all(
      pool.active().map(async (peer) => {
        try {
          await put(pool.client(peer), peer)
          return true
        } catch (err) {
          rethrowIfBug(err)
          const code = err instanceof BackupError ? err.code : 'UNKNOWN'
          if (!isBackupError(err, 'POINTER_STALE')) log.warn({ peer: toHex(peer.nodeId).slice(0, 16), code, seq: pointer?.seq }, 'A peer did not take a pointer or blob')
          return false
        }
      }),
    )
    return results.filter(Boolean).length
  }
}
