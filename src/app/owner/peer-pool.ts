import type { ConnectPeer, PeerClient } from '../../core/ports/peer-client.js'
import { NEW_PEER_AUDIT, type IndexStore, type PeerRecord } from '../../core/ports/index-store.js'
import type { Clock } from '../../core/ports/clock.js'
import type { NodeIdentity } from '../../core/identity.js'
import type { PeerRef } from '../../core/snapshot/index.js'
import { inputInvalid } from '../../core/errors.js'
import { toHex } from '../../shared/bytes.js'

/**
 * The owner's connections to its peers: one pinned client per peer, reused across backups and
 * restores. A peer is added by address once (its announcement is verified and its certificate
 * pinned); from then on it is reached only with that pin and that node id.
 */
export class PeerPool {
  readonly #clients = new Map<string, PeerClient>()
  /** Peers that have this owner's verification key already (this process). */
  readonly #keyed = new Set<string>()

  constructor(private readonly deps: { index: IndexStore; connect: ConnectPeer; identity: NodeIdentity; clock: Clock }) {}

  /** First contact by address: verifies the announcement, pins, records the peer. */
  async add(url: string): Promise<PeerRecord> {
    const client = this.deps.connect(url, { identity: this.deps.identity })
    try {
      const a = await client.announcement()
      const now = this.deps.clock.nowMs()
      const old = this.deps.index.getPeer(a.nodeId)
      const record: PeerRecord = { nodeId: a.nodeId, url: client.url, certFingerprint: a.certSha256, firstSeenMs: old?.firstSeenMs ?? now, lastSeenMs: now, state: old?.state ?? 'active', audit: old?.audit ?? { ...NEW_PEER_AUDIT } }
      this.deps.index.upsertPeer(record)
      await this.#drop(toHex(a.nodeId))
      return record
    } finally {
      await client.close()
    }
  }

  /** Records a peer named by a signed document of the owner (recovery), without contacting it. */
  remember(ref: PeerRef): PeerRecord {
    const now = this.deps.clock.nowMs()
    const old = this.deps.index.getPeer(ref.nodeId)
    const record: PeerRecord = old ?? { nodeId: ref.nodeId, url: ref.url, certFingerprint: ref.certSha256, firstSeenMs: now, lastSeenMs: now, state: 'active', audit: { ...NEW_PEER_AUDIT } }
    if (!old) this.deps.index.upsertPeer(record)
    return record
  }

  active(): PeerRecord[] {
    return this.deps.index.listPeers().filter((p) => p.state === 'active')
  }

  client(peer: PeerRecord | PeerRef): PeerClient {
    const hex = toHex(peer.nodeId)
    let c = this.#clients.get(hex)
    if (!c) {
      const pin = 'certFingerprint' in peer ? peer.certFingerprint : peer.certSha256
      c = this.deps.connect(peer.url, { identity: this.deps.identity, pinnedCertSha256: pin, expectNodeId: peer.nodeId })
      this.#clients.set(hex, c)
    }
    return c
  }

  ref(peer: PeerRecord): PeerRef {
    return { nodeId: peer.nodeId, url: peer.url, certSha256: peer.certFingerprint }
  }

  /** Sends the owner's verification key to a peer once (the peer pins it at the first one). */
  async ensureOwnerKey(peer: PeerRecord | PeerRef, verificationKey: Uint8Array): Promise<void> {
    const hex = toHex(peer.nodeId)
    if (this.#keyed.has(hex)) return
    await this.client(peer).putOwnerKey(verificationKey)
    this.#keyed.add(hex)
  }

  byId(nodeIdHex: string): PeerRecord {
    const p = this.deps.index.listPeers().find((x) => toHex(x.nodeId) === nodeIdHex)
    if (!p) throw inputInvalid(`peer ${nodeIdHex.slice(0, 8)} is not known`)
    return p
  }

  async #drop(hex: string): Promise<void> {
    const c = this.#clients.get(hex)
    this.#clients.delete(hex)
    this.#keyed.delete(hex)
    await c?.close()
  }

  async close(): Promise<void> {
    const all = [...this.#clients.values()]
    this.#clients.clear()
    await Promise.allSettled(all.map((c) => c.close()))
  }
}
