import type { Sodium } from '../../core/ports/sodium.js'
import type { Clock } from '../../core/ports/clock.js'
import type { NodeId } from '../../core/ids.js'
import { inputInvalid } from '../../core/errors.js'
import { verifyAnnouncement, type Announcement } from '../../core/protocol/index.js'
import { bytesEqual, toHex } from '../../shared/bytes.js'

/** How a node came to be known: configured, found on the LAN, told by a peer, or it told us. */
export type PeerSource = 'bootstrap' | 'ssdp' | 'exchange' | 'announced'

export interface KnownPeer {
  announcement: Announcement
  /** The address this node reaches it at (the SSDP location's, or the announcement's first). */
  url: string
  source: PeerSource
  /** When its announcement was last confirmed by contacting it (null: only heard of). */
  verifiedAtMs: number | null
}

export const MAX_KNOWN_PEERS = 1000

/**
 * Every node this one has heard of, by signed announcement: what GET /v1/peers shares for peer
 * exchange and what the owner can pick peers from. Entries are dropped when their announcement
 * expires; a newer announcement of the same node replaces an older one; at most 1000 are kept
 * (the oldest heard-of go first).
 */
export class PeerDirectory {
  readonly #peers = new Map<string, KnownPeer>()

  constructor(private readonly deps: { sodium: Sodium; clock: Clock; self: () => NodeId }) {}

  /** An untrusted announcement (POST /v1/peers): verified, then kept. */
  learn(raw: unknown, source: PeerSource): Announcement {
    const a = verifyAnnouncement(this.deps.sodium, raw, this.deps.clock.nowMs())
    if (bytesEqual(a.nodeId, this.deps.self())) throw inputInvalid("that is this node's own announcement")
    this.add(a, source, null)
    return a
  }

  /**
   * Keeps an announcement already verified by the caller. `url` is where it was reached (then it
   * counts as verified now); without one, the announcement's first address is used.
   */
  add(a: Announcement, source: PeerSource, url: string | null): void {
    if (bytesEqual(a.nodeId, this.deps.self()) || a.expiresAtMs <= this.deps.clock.nowMs()) return
    const k = toHex(a.nodeId)
    const known = this.#peers.get(k)
    const verifiedAtMs = url ? this.deps.clock.nowMs() : (known?.verifiedAtMs ?? null)
    const entry: KnownPeer = {
      announcement: known && known.announcement.issuedAtMs > a.issuedAtMs ? known.announcement : a,
      url: url ?? known?.url ?? (a.addresses[0] as string),
      // The first, most direct way it was found stays its source (bootstrap, ssdp over hearsay).
      source: known && rank(known.source) <= rank(source) ? known.source : source,
      verifiedAtMs,
    }
    this.#peers.delete(k)
    this.#peers.set(k, entry)
    while (this.#peers.size > MAX_KNOWN_PEERS) this.#peers.delete(this.#peers.keys().next().value as string)
  }

  /** Forgets a node whose address did not answer as that node. */
  forget(nodeId: NodeId): void {
    this.#peers.delete(toHex(nodeId))
  }

  list(): KnownPeer[] {
    const now = this.deps.clock.nowMs()
    for (const [k, p] of this.#peers) if (p.announcement.expiresAtMs <= now) this.#peers.delete(k)
    return [...this.#peers.values()]
  }

  announcements(): Announcement[] {
    return this.list().map((p) => p.announcement)
  }
}

const rank = (s: PeerSource) => ['bootstrap', 'ssdp', 'announced', 'exchange'].indexOf(s)
