import type { Sodium } from '../../core/ports/sodium.js'
import type { Clock } from '../../core/ports/clock.js'
import type { Logger } from '../../core/ports/logger.js'
import type { IndexStore, PackRecord, ShareRecord } from '../../core/ports/index-store.js'
import type { ObjectStore } from '../../core/ports/object-store.js'
import type { Poseidon } from '../../core/ports/poseidon.js'
import type { Prover } from '../../core/ports/prover.js'
import type { SourceFs } from '../../core/ports/source-fs.js'
import type { ShareKeys } from '../../core/crypto/index.js'
import { chunkIdOf } from '../../core/crypto/index.js'
import { merkleRoot } from '../../core/audit/index.js'
import { PackBuilder } from '../../core/pack/index.js'
import { BackupError, rethrowIfBug } from '../../core/errors.js'
import { bytesEqual, shortHex, toHex } from '../../shared/bytes.js'
import type { PeerPool } from './peer-pool.js'
import type { OwnerKeys } from './owner-keys.js'
import type { Publisher } from './publisher.js'
import { ChunkFetcher } from './chunk-fetcher.js'
import { GOOD_REPLICA } from './replicator.js'

export interface RepairDeps {
  sodium: Sodium
  clock: Clock
  log: Logger
  index: IndexStore
  spool: ObjectStore
  pool: PeerPool
  poseidon: Poseidon
  publisher: Publisher
  sourceFor: (path: string) => SourceFs
}

export interface RepairResult {
  /** Packs that were short of copies when the repair began. */
  short: number
  fromSpool: number
  fromSource: number
  fetched: number
  /** Packs still short of copies afterwards. */
  stillShort: number
}

/**
 * Brings every pack of a share back to its number of good copies (DESIGN §7). The bytes of a
 * short pack come from the local spool if it is still there; else from the source files, when
 * every chunk of the pack is still in them unchanged (the pack is sealed again with the same id
 * and layout, so every chunk reference stays valid; its new nonces give it a new Merkle root);
 * else from a healthy replica, fetched with an ownership proof and checked against that copy's
 * root. The pack then goes through the normal replication (placement prefers peers with a good
 * audit record on other hosts and networks), and the share's catalog and pointer are published
 * again so recovery knows where the copies are now.
 */
export class Repairer {
  constructor(private readonly deps: RepairDeps) {}

  async repair(share: ShareRecord, keys: ShareKeys, owner: OwnerKeys, prover: () => Promise<Prover>): Promise<RepairResult> {
    const { index, spool, log } = this.deps
    const good = new Map<string, number>()
    for (const r of index.listReplicasOfShare(share.shareId)) if (GOOD_REPLICA.has(r.status)) good.set(toHex(r.packId), (good.get(toHex(r.packId)) ?? 0) + 1)
    const short = index.listPacks(share.shareId).filter((p) => (good.get(toHex(p.packId)) ?? 0) < share.copies)
    const out: RepairResult = { short: short.length, fromSpool: 0, fromSource: 0, fetched: 0, stillShort: 0 }
    if (short.length === 0) return out
    const missing: PackRecord[] = []
    for (const p of short) {
      if (await spool.has(p.packId)) out.fromSpool++
      else missing.push(p)
    }
    const fetcher = new ChunkFetcher({ ...this.deps, prover }, keys, (id) => this.#holders(id))
    fetcher.want(missing.filter((p) => (good.get(toHex(p.packId)) ?? 0) > 0).map((p) => p.packId))
    for (const pack of missing) {
      try {
        const rebuilt = share.path !== null ? await this.#rebuild(share, keys, pack) : null
        if (rebuilt) {
          index.setPackMerkleRoot(pack.packId, rebuilt.root)
          await spool.put(pack.packId, rebuilt.bytes)
          out.fromSource++
          continue
        }
        if ((good.get(toHex(pack.packId)) ?? 0) === 0) continue
        const bytes = await fetcher.range(pack.packId, 0, pack.sizeBytes)
        const from = fetcher.servedBy.get(toHex(pack.packId))
        const replica = from ? index.listReplicas(pack.packId).find((r) => bytesEqual(r.nodeId, from.nodeId)) : undefined
        if (!replica || !bytesEqual(merkleRoot(this.deps.sodium, bytes), replica.merkleRoot)) {
          // The copy served does not match what that peer signed for: it is bad, not a source.
          if (replica) index.updateReplica(pack.packId, replica.nodeId, { status: 'bad', failures: replica.failures + 1 })
          log.warn({ pack: shortHex(pack.packId) }, 'A fetched copy did not match its Merkle root; the pack waits for the next repair')
          continue
        }
        if (!bytesEqual(replica.merkleRoot, pack.merkleRoot)) index.setPackMerkleRoot(pack.packId, replica.merkleRoot)
        await spool.put(pack.packId, bytes)
        out.fetched++
      } catch (err) {
        rethrowIfBug(err)
        log.warn({ pack: shortHex(pack.packId), code: err instanceof BackupError ? err.code : 'UNKNOWN' }, 'A pack could not be brought back for repair')
      }
    }
    const published = await this.deps.publisher.publish(share, keys, owner)
    out.stillShort = published.shortPacks
    return out
  }

  /** Peers with a good copy of a pack, the best audit score first. */
  #holders(packId: PackRecord['packId']) {
    const { index, pool } = this.deps
    return index
      .listReplicas(packId)
      .filter((r) => GOOD_REPLICA.has(r.status))
      .flatMap((r) => {
        const p = index.getPeer(r.nodeId)
        return p && p.state !== 'blocked' ? [p] : []
      })
      .sort((a, b) => b.audit.score - a.audit.score)
      .map((p) => pool.ref(p))
  }

  /**
   * The pack sealed again from the share's files, or null when any of its chunks is no longer in
   * an unchanged file (or is not file data at all, e.g. a folder manifest).
   */
  async #rebuild(share: ShareRecord, keys: ShareKeys, pack: PackRecord): Promise<{ bytes: Uint8Array; root: Uint8Array } | null> {
    const { index, sodium } = this.deps
    const chunks = index.listChunksOfPack(pack.packId)
    if (chunks.length === 0 || chunks.length !== pack.chunkCount) return null
    const need = new Set(chunks.map((c) => toHex(c.chunkId)))
    const found = new Map<string, Uint8Array>()
    const source = this.deps.sourceFor(share.path as string)
    for (const file of index.listFiles(share.shareId)) {
      if (!file.chunkIds.some((id) => need.has(toHex(id)) && !found.has(toHex(id)))) continue
      const spans: Array<{ hex: string; start: number; end: number }> = []
      let at = 0
      for (const id of file.chunkIds) {
        const loc = index.findChunk(share.shareId, id)
        if (!loc) return null
        if (need.has(toHex(id)) && !found.has(toHex(id))) spans.push({ hex: toHex(id), start: at, end: at + loc.plainBytes })
        at += loc.plainBytes
      }
      const now = await source.stat(file.path).catch(() => null)
      if (!now || now.kind !== 'file' || now.sizeBytes !== file.sizeBytes || now.mtimeMs !== file.mtimeMs) continue
      for (const [hex, bytes] of await readSpans(source, file.path, spans)) {
        if (toHex(chunkIdOf(sodium, keys.idKey, bytes)) === hex) found.set(hex, bytes)
      }
      if (found.size === need.size) break
    }
    if (found.size !== need.size) return null
    const builder = new PackBuilder(sodium, keys)
    for (const c of chunks) {
      const e = builder.add(c.chunkId, found.get(toHex(c.chunkId)) as Uint8Array)
      if (e.offsetBytes !== c.offsetBytes || e.sealedBytes !== c.sealedBytes) return null
    }
    const sealed = builder.seal({ packId: pack.packId })
    if (sealed.bytes.length !== pack.sizeBytes) return null
    const bytes = sealed.bytes.slice()
    return { bytes, root: merkleRoot(sodium, bytes) }
  }
}

/** The bytes of each span of a file, read in one pass. */
async function readSpans(source: SourceFs, path: string, spans: Array<{ hex: string; start: number; end: number }>): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>()
  const bufs = spans.map((s) => ({ ...s, buf: new Uint8Array(s.end - s.start) }))
  let at = 0
  try {
    for await (const piece of source.read(path)) {
      const end = at + piece.length
      for (const b of bufs) {
        const from = Math.max(b.start, at)
        const to = Math.min(b.end, end)
        if (from < to) b.buf.set(piece.subarray(from - at, to - at), from - b.start)
      }
      at = end
    }
  } catch (err) {
    rethrowIfBug(err)
    return out
  }
  for (const b of bufs) if (b.end <= at) out.set(b.hex, b.buf)
  return out
}
