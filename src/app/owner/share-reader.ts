import type { Sodium } from '../../core/ports/sodium.js'
import type { PeerClient } from '../../core/ports/peer-client.js'
import type { Logger } from '../../core/ports/logger.js'
import type { PackId } from '../../core/ids.js'
import type { ShareKeys } from '../../core/crypto/index.js'
import { identityFromSeed } from '../../core/identity.js'
import { BackupError, notFound, rethrowIfBug } from '../../core/errors.js'
import { decodeCatalog, openSharePointer, uniquePeers, type PeerRef, type ShareCatalog, type SharePointerValue } from '../../core/snapshot/index.js'
import { concatBytes, toHex } from '../../shared/bytes.js'
import type { SignedPointer } from '../../core/protocol/index.js'
import type { PeerPool } from './peer-pool.js'
import { ChunkFetcher, type FetcherDeps } from './chunk-fetcher.js'

export interface ShareView {
  seq: number
  pointer: SharePointerValue
  catalog: ShareCatalog
  /** Peers named by the catalog for a pack, then the pointer's peers, then every other known peer. */
  locate: (packId: PackId) => PeerRef[]
}

/**
 * Reads the newest pointer that the given peers hold for a locator: every answer's signature is
 * checked against the locator (by the client); the highest sequence wins, so one stale or
 * missing peer changes nothing.
 */
export async function newestPointer(clients: PeerClient[], locator: Uint8Array, log: Logger): Promise<SignedPointer | null> {
  const found = await Promise.all(
    clients.map(async (c) => {
      try {
        return await c.getPointer(locator)
      } catch (err) {
        rethrowIfBug(err)
        if (!(err instanceof BackupError && err.code === 'OBJECT_MISSING')) log.warn({ peer: c.url, code: err instanceof BackupError ? err.code : 'UNKNOWN' }, 'A peer did not answer for a pointer')
        return null
      }
    }),
  )
  let best: SignedPointer | null = null
  for (const p of found) if (p && (!best || p.seq > best.seq)) best = p
  return best
}

/**
 * A share as the federation holds it, from its keys alone: pointer → catalog (snapshots and pack
 * placement). Used to list and restore shares this node has no local index for (recovered or
 * imported ones) and to locate packs the index does not know.
 */
export async function readShare(deps: { sodium: Sodium; pool: PeerPool; log: Logger; fetcher: Omit<FetcherDeps, 'pool' | 'sodium' | 'log' | 'prover'>; proverFor: (pointer: SharePointerValue, peers: PeerRef[]) => FetcherDeps['prover'] }, keys: ShareKeys, peers: PeerRef[]): Promise<ShareView> {
  const { sodium, pool, log } = deps
  const locator = identityFromSeed(sodium, keys.locatorSeed).nodeId
  const pointer = await newestPointer(peers.map((p) => pool.client(p)), locator, log)
  if (!pointer) throw notFound('a pointer for this share on any reachable peer')
  const value = openSharePointer(sodium, keys.pointerKey, locator, pointer.value)
  const others = (first: PeerRef[]) => uniquePeers([...first, ...value.peers, ...peers])
  const catalogFetcher = new ChunkFetcher({ ...deps.fetcher, sodium, pool, log, prover: deps.proverFor(value, others([])) }, keys, () => others([]))
  const parts: Uint8Array[] = []
  for (const ref of value.catalog) parts.push(await catalogFetcher.chunk(ref))
  const catalog = decodeCatalog(concatBytes(parts))
  const placement = new Map(catalog.packs.map((p) => [toHex(p.packId), p.peers.map((i) => catalog.peers[i] as PeerRef)]))
  return { seq: pointer.seq, pointer: value, catalog, locate: (packId) => others(placement.get(toHex(packId)) ?? []) }
}
