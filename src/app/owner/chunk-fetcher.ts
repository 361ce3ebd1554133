import type { Sodium } from '../../core/ports/sodium.js'
import type { Prover } from '../../core/ports/prover.js'
import type { Poseidon } from '../../core/ports/poseidon.js'
import type { Clock } from '../../core/ports/clock.js'
import type { Logger } from '../../core/ports/logger.js'
import type { ObjectStore } from '../../core/ports/object-store.js'
import type { PackId } from '../../core/ids.js'
import type { ShareKeys } from '../../core/crypto/index.js'
import type { ChunkRef, PeerRef } from '../../core/snapshot/index.js'
import { BackupError, isBackupError, objectMissing, rethrowIfBug } from '../../core/errors.js'
import { OWNERSHIP_BATCH, commitmentOf, idToField, nonceToField, ownershipInput } from '../../core/proofs/index.js'
import { openPackedChunk } from '../../core/pack/index.js'
import { shortHex, toHex } from '../../shared/bytes.js'
import type { PeerPool } from './peer-pool.js'

/** Tickets are used only while this much of their life is left. */
const TICKET_MARGIN_MS = 60_000
/** Likely packs taken from the caller: a first grant batch for each of a few peers. */
const MAX_LIKELY = 4 * OWNERSHIP_BATCH

interface Ticket {
  ticket: Uint8Array
  expiresAtMs: number
}

const usable = (t: Ticket | undefined, nowMs: number): t is Ticket => t !== undefined && t.expiresAtMs - TICKET_MARGIN_MS > nowMs

export interface FetcherDeps {
  sodium: Sodium
  pool: PeerPool
  poseidon: Poseidon
  /** The owner's prover, made on first use (loading the proving key takes a moment). */
  prover: () => Promise<Prover>
  clock: Clock
  log: Logger
  /** The owner's local spool: a pack still there is read locally. */
  spool?: ObjectStore
}

/**
 * Reads byte ranges of a share's packs from whichever peer has them: asks for a fetch grant with
 * one ownership proof for up to 16 packs at a time (the packs the restore will need from that
 * peer), then fetches ranges with the ticket. A peer that fails or lacks the pack is skipped for
 * the next one; every chunk is authenticated under its id.
 */
export class ChunkFetcher {
  readonly #tickets = new Map<string, Map<string, Ticket>>()
  readonly #granting = new Map<string, Promise<void>>()
  readonly #wanted = new Map<string, Set<string>>()
  readonly #bad = new Set<string>()
  readonly #ids = new Map<string, PackId>()
  /** The peer each wanted pack is read from first (pack hex → node hex). */
  readonly #assigned = new Map<string, string>()
  readonly #peers = new Map<string, PeerRef>()
  /** Whether each pack is still in the local spool, looked up once per pack. */
  readonly #local = new Map<string, Promise<boolean>>()
  bytesFetched = 0
  /** The peer that served each pack's last range (absent: the local spool). */
  readonly servedBy = new Map<string, PeerRef>()

  constructor(
    private readonly deps: FetcherDeps,
    private readonly keys: ShareKeys,
    /** Peers believed to hold a pack, best first. */
    private readonly locate: (packId: PackId) => PeerRef[],
    /**
     * Packs likely read first (a share's newest: its last backup wrote the manifests there, and a
     * whole-share restore reads them all), wanted from the start, newest first: the first grant,
     * asked for the root manifest, covers a batch of them (the proof costs the same for 1 pack as
     * for 16), so a restore needs one proof fewer; the next batches go to the other peers, which
     * grantAhead() can ask at once.
     */
    likely: readonly PackId[] = [],
  ) {
    this.want(likely.slice(0, MAX_LIKELY))
  }

  /** Packs the caller will read soon: grants ask for them together (fewer proofs). */
  want(packIds: Iterable<PackId>): void {
    for (const id of packIds) {
      const packHex = toHex(id)
      this.#ids.set(packHex, id)
      if (this.#assigned.has(packHex)) continue
      // Each pack is read first from one peer holding it: one whose grant batch is started but
      // not full (no extra proof), else the one with the fewest packs so far. A restore thus
      // reads from all its peers at once with as few proofs as from one.
      let best: string | null = null
      let bestScore = Infinity
      for (const peer of this.locate(id)) {
        const hex = toHex(peer.nodeId)
        if (this.#bad.has(hex)) continue
        this.#peers.set(hex, peer)
        const count = this.#wanted.get(hex)?.size ?? 0
        const score = count % OWNERSHIP_BATCH !== 0 ? -1 : count
        if (score < bestScore) [best, bestScore] = [hex, score]
      }
      if (best === null) continue
      this.#assigned.set(packHex, best)
      const set = this.#wanted.get(best) ?? new Set<string>()
      set.add(packHex)
      this.#wanted.set(best, set)
    }
  }

  /**
   * The packs in an order that reads from all peers at once until the end: each peer's packs (in
   * the given order) spread evenly over the whole order, so a peer with twice the packs comes
   * twice as often and no peer is left serving the tail alone. Packs not wanted come last.
   */
  interleave(packIds: readonly PackId[]): PackId[] {
    const byPeer = new Map<string, PackId[]>()
    const rest: PackId[] = []
    for (const id of packIds) {
      const peer = this.#assigned.get(toHex(id))
      const list = peer === undefined ? rest : (byPeer.get(peer) ?? [])
      if (peer !== undefined && list.length === 0) byPeer.set(peer, list)
      list.push(id)
    }
    // Each pack at the middle of its share of its peer's list; the sort is stable for ties.
    const placed = [...byPeer.values()].flatMap((list) => list.map((id, i) => ({ id, at: (i + 0.5) / list.length })))
    return [...placed.sort((a, b) => a.at - b.at).map((p) => p.id), ...rest]
  }

  /**
   * Starts, in the background, a grant at every peer that has wanted packs without a ticket and no
   * grant on its way: a restore of a whole share calls it as soon as the root manifest is read, so
   * these proofs overlap the folder listing instead of following it. A failure here changes
   * nothing: the reads ask again, and handle it.
   */
  grantAhead(): void {
    const now = this.deps.clock.nowMs()
    for (const [peerHex, packs] of this.#wanted) {
      const peer = this.#peers.get(peerHex)
      if (!peer || this.#bad.has(peerHex) || this.#granting.has(peerHex)) continue
      const held = this.#tickets.get(peerHex)
      const first = [...packs].find((h) => !usable(held?.get(h), now))
      const packId = first === undefined ? undefined : this.#ids.get(first)
      if (!packId) continue
      this.#ticket(peer, packId).catch((err: unknown) => {
        if (!(err instanceof BackupError)) return this.deps.log.error({ err }, 'An early fetch grant failed unexpectedly')
        this.deps.log.debug({ peer: peerHex.slice(0, 16), code: err.code }, 'An early fetch grant failed; the reads will ask again')
      })
    }
  }

  /** The peers to try for a pack: the one it was assigned to first, then the others, best first. */
  #peersFor(packId: PackId): PeerRef[] {
    const peers = this.locate(packId)
    const first = this.#assigned.get(toHex(packId))
    return first === undefined ? peers : [...peers.filter((p) => toHex(p.nodeId) === first), ...peers.filter((p) => toHex(p.nodeId) !== first)]
  }

  async chunk(ref: ChunkRef): Promise<Uint8Array> {
    const envelope = await this.range(ref.packId, ref.offsetBytes, ref.sealedBytes)
    return openPackedChunk(this.deps.sodium, this.keys, ref.packId, ref.chunkId, envelope)
  }

  /**
   * Resolves once reading this pack needs no grant first: it is in the local spool, a ticket for
   * it is held, or asking its first peer failed (that peer is then skipped, and range() goes on
   * to the next). Never rejects but for a bug. A restore waits for this before it gives a pack
   * one of its few read slots, so packs whose peer is still proving do not hold them.
   */
  async ready(packId: PackId): Promise<void> {
    if (await this.#isLocal(packId)) return
    const peer = this.#peersFor(packId).find((p) => !this.#bad.has(toHex(p.nodeId)))
    if (!peer) return
    await this.#ticket(peer, packId).catch((err: unknown) => {
      rethrowIfBug(err)
      this.#failed(peer, packId, err)
    })
  }

  /** Whether a pack is still in the local spool, looked up once. */
  #isLocal(packId: PackId): Promise<boolean> {
    const { spool } = this.deps
    if (!spool) return Promise.resolve(false)
    let local = this.#local.get(toHex(packId))
    if (!local) this.#local.set(toHex(packId), (local = spool.has(packId)))
    return local
  }

  /** Unreachable or misbehaving peers are not asked again in this restore (a missing pack or a refused proof is no reason). */
  #markBad(peerHex: string, err: unknown): void {
    if (isBackupError(err, 'OBJECT_MISSING') || isBackupError(err, 'PROOF_REJECTED') || this.#bad.has(peerHex)) return
    this.#bad.add(peerHex)
    // Its packs go to the other peers that hold them, in full grant batches as at the start.
    const packs = [...(this.#wanted.get(peerHex) ?? [])]
    this.#wanted.delete(peerHex)
    for (const h of packs) this.#assigned.delete(h)
    this.want(packs.map((h) => this.#ids.get(h) as PackId))
  }

  /** A peer that could not give a pack. */
  #failed(peer: PeerRef, packId: PackId, err: unknown): void {
    if (isBackupError(err, 'OBJECT_MISSING')) return
    const hex = toHex(peer.nodeId)
    this.#markBad(hex, err)
    this.deps.log.warn({ peer: hex.slice(0, 16), pack: shortHex(packId), code: err instanceof BackupError ? err.code : 'UNKNOWN' }, 'A peer could not give a pack; trying another')
  }

  /**
   * A byte range of a pack. With `into` (exactly `length` bytes), the range lands in that memory,
   * from a peer or from the spool; use the returned bytes all the same.
   */
  async range(packId: PackId, offset: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
    const { spool } = this.deps
    if (spool) {
      if (await this.#isLocal(packId)) {
        try {
          return await spool.getRange(packId, offset, length, into)
        } catch (err) {
          // Replication may have finished and removed it meanwhile: the peers have it then.
          if (!isBackupError(err, 'OBJECT_MISSING')) throw err
          this.#local.set(toHex(packId), Promise.resolve(false))
        }
      }
    }
    let lastErr: unknown = objectMissing(shortHex(packId))
    for (const peer of this.#peersFor(packId)) {
      const hex = toHex(peer.nodeId)
      if (this.#bad.has(hex)) continue
      try {
        const ticket = await this.#ticket(peer, packId)
        const bytes = await this.deps.pool.client(peer).fetch(packId, ticket, { offset, length, ...(into ? { into } : {}) })
        this.bytesFetched += bytes.length
        this.servedBy.set(toHex(packId), peer)
        return bytes
      } catch (err) {
        rethrowIfBug(err)
        lastErr = err
        this.#failed(peer, packId, err)
      }
    }
    throw lastErr
  }

  /**
   * A usable ticket for this pack at this peer. Reads of the same peer share one grant at a time:
   * waiting for another read's grant costs nothing (a restore may have hundreds of packs waiting
   * for their peer's grants in turn), another read's failed grant costs one of three attempts.
   */
  async #ticket(peer: PeerRef, packId: PackId): Promise<Uint8Array> {
    const peerHex = toHex(peer.nodeId)
    const packHex = toHex(packId)
    for (let failed = 0; ; ) {
      const have = this.#tickets.get(peerHex)?.get(packHex)
      if (usable(have, this.deps.clock.nowMs())) return have.ticket
      const running = this.#granting.get(peerHex)
      if (running) {
        // Another read's grant failed: ask again, unless that peer is not to be asked any more.
        const failure = await running.then(() => null, (err: unknown) => ({ err }))
        if (failure && (this.#bad.has(peerHex) || ++failed >= 3)) throw failure.err
        continue
      }
      // Marked before anyone waiting for this grant sees it fail (they ask again only if not bad).
      const grant = this.#grant(peer, packId).catch((err: unknown) => {
        this.#markBad(peerHex, err)
        throw err
      })
      this.#granting.set(peerHex, grant)
      try {
        await grant
      } finally {
        this.#granting.delete(peerHex)
      }
      // This grant named the pack: granted, or the peer does not have it.
      const got = this.#tickets.get(peerHex)?.get(packHex)
      if (!got) throw objectMissing(shortHex(packId))
      return got.ticket
    }
  }

  /** One proof for this pack and up to 15 others wanted from the same peer; on OBJECT_MISSING, this pack alone. */
  async #grant(peer: PeerRef, packId: PackId): Promise<void> {
    const peerHex = toHex(peer.nodeId)
    const packHex = toHex(packId)
    const held = this.#tickets.get(peerHex) ?? new Map<string, Ticket>()
    this.#tickets.set(peerHex, held)
    const now = this.deps.clock.nowMs()
    const extra = [...(this.#wanted.get(peerHex) ?? [])].filter((h) => h !== packHex && !usable(held.get(h), now))
    const batch = [packId, ...extra.slice(0, OWNERSHIP_BATCH - 1).map((h) => this.#ids.get(h) as PackId)]
    try {
      await this.#grantBatch(peer, batch, held)
    } catch (err) {
      if (!isBackupError(err, 'OBJECT_MISSING') || batch.length === 1) throw err
      for (const h of extra) this.#wanted.get(peerHex)?.delete(h)
      await this.#grantBatch(peer, [packId], held)
    }
  }

  async #grantBatch(peer: PeerRef, packIds: PackId[], held: Map<string, Ticket>): Promise<void> {
    const { poseidon, pool } = this.deps
    const client = pool.client(peer)
    // The prover loads (the first time: most of a second) while the nonce is asked for.
    const loading = this.deps.prover()
    loading.catch(() => {}) // a failure is reported below, not while the nonce is awaited
    const nonce = await client.nonce()
    const items = packIds.map((id) => ({ objectId: idToField(id), commitment: commitmentOf(poseidon, this.keys.proofKey, idToField(id)) }))
    const prover = await loading
    const { proof } = await prover.prove(ownershipInput(this.keys.proofKey, items, { nonce: nonceToField(nonce), nodeId: idToField(peer.nodeId), action: 'fetch' }))
    const grant = await client.grantFetch({ nonce, objectIds: packIds, proof })
    for (const id of packIds) held.set(toHex(id), grant)
  }
}
