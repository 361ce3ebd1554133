import type { ConnectPeer } from '../../core/ports/peer-client.js'
import type { LanDiscovery } from '../../core/ports/discovery.js'
import type { Logger } from '../../core/ports/logger.js'
import type { NodeIdentity } from '../../core/identity.js'
import type { Announcement } from '../../core/protocol/index.js'
import { BackupError, rethrowIfBug } from '../../core/errors.js'
import type { PeerDirectory, PeerSource } from './peer-directory.js'

/** Most nodes contacted in one exchange round (the rest wait for later rounds). */
export const MAX_CONTACTS_PER_ROUND = 32

export interface PeerExchangeDeps {
  directory: PeerDirectory
  connect: ConnectPeer
  /** This node's identity (peer exchange is node business, not the owner's). */
  identity: NodeIdentity
  /** This node's current signed announcement. */
  ownAnnouncement: () => Announcement
  /** Bootstrap addresses from the settings. */
  bootstrap: readonly string[]
  log: Logger
  intervalMs: number
  /** SSDP on the LAN, when the settings turn it on. */
  lan?: LanDiscovery
}

/**
 * Finds peers without any central server (DESIGN §9): each round contacts the bootstrap
 * addresses and the nodes already known, verifies each one's signed announcement at its address
 * (and that it is the node it claims), tells it about this node, and takes the verified
 * announcements it knows. SSDP finds are verified the same way before they are kept.
 */
export class PeerExchange {
  #timer: ReturnType<typeof setInterval> | null = null
  #running: Promise<void> | null = null
  #closed = false
  readonly #checking = new Set<string>()

  constructor(private readonly deps: PeerExchangeDeps) {}

  async start(): Promise<void> {
    const { lan } = this.deps
    if (lan) await lan.start((url) => void this.#checkLan(url))
    this.#timer = setInterval(() => void this.round(), this.deps.intervalMs)
    this.#timer.unref?.()
    void this.round()
  }

  async close(): Promise<void> {
    this.#closed = true
    if (this.#timer) clearInterval(this.#timer)
    await this.deps.lan?.stop()
    await this.#running?.catch(() => {})
  }

  /** One exchange round (rounds never overlap; a call during one waits for it). */
  round(): Promise<void> {
    if (this.#running) return this.#running
    this.#running = this.#round().finally(() => {
      this.#running = null
    })
    return this.#running
  }

  async #round(): Promise<void> {
    const { directory, bootstrap } = this.deps
    const targets = new Map<string, { url: string; source: PeerSource; nodeId?: Announcement['nodeId'] }>()
    for (const url of bootstrap) targets.set(url, { url, source: 'bootstrap' })
    for (const p of directory.list()) if (!targets.has(p.url)) targets.set(p.url, { url: p.url, source: p.source, nodeId: p.announcement.nodeId })
    const list = [...targets.values()].slice(0, MAX_CONTACTS_PER_ROUND)
    await Promise.all(list.map((t) => this.#exchange(t.url, t.source, t.nodeId)))
  }

  async #exchange(url: string, source: PeerSource, nodeId?: Announcement['nodeId']): Promise<void> {
    if (this.#closed) return
    const { directory, identity } = this.deps
    const client = this.deps.connect(url, { identity, ...(nodeId ? { expectNodeId: nodeId } : {}) })
    try {
      const a = await client.announcement()
      directory.add(a, source, client.url)
      await client.announce(this.deps.ownAnnouncement())
      for (const b of await client.peers()) directory.add(b, 'exchange', null)
    } catch (err) {
      rethrowIfBug(err)
      const code = err instanceof BackupError ? err.code : 'UNKNOWN'
      // An address that answers as another node (or not as a Quloud node) is not that peer.
      if (nodeId && code === 'SIGNATURE_INVALID') directory.forget(nodeId)
      this.deps.log.debug({ url, code }, 'Peer exchange with a node failed')
    } finally {
      await client.close()
    }
  }

  async #checkLan(announcementUrl: string): Promise<void> {
    const url = new URL(announcementUrl).origin
    if (this.#closed || this.#checking.has(url)) return
    this.#checking.add(url)
    try {
      await this.#exchange(url, 'ssdp')
      this.deps.log.debug({ url, known: this.deps.directory.list().some((p) => p.url === url) }, 'SSDP found a node')
    } finally {
      this.#checking.delete(url)
    }
  }
}
