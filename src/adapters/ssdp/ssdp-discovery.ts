import ssdp, { type Client, type Server } from 'node-ssdp'
import type { LanDiscovery } from '../../core/ports/discovery.js'

export const QULOUD_SSDP_SERVICE = 'urn:quloud:service:node:1'
export const ANNOUNCEMENT_PATH = '/v1/announcement'

export interface SsdpOptions {
  /** The HTTPS port of this node's federation protocol (LOCATION names it with each interface's address). */
  peerPort: number
  /** A stable unique id for this node's SSDP device ("uuid:…"). */
  udn: string
  /** How often this node advertises (NOTIFY) and searches (M-SEARCH). */
  intervalMs?: number
  /** Interface names to use; all non-internal IPv4 interfaces when absent. */
  interfaces?: string[]
}

/**
 * LanDiscovery over SSDP (node-ssdp 4): a server that answers M-SEARCH and sends NOTIFY for
 * urn:quloud:service:node:1 with LOCATION https://<interface address>:<port>/v1/announcement, and
 * a client that searches on the same interval. A LOCATION is reported only when it is exactly that
 * shape and its address is the one the packet came from, so SSDP cannot point this node at a
 * third host. node-ssdp never uses loopback interfaces.
 */
export class SsdpDiscovery implements LanDiscovery {
  #server: Server | null = null
  #client: Client | null = null
  #timer: ReturnType<typeof setInterval> | null = null

  constructor(private readonly opts: SsdpOptions) {}

  async start(onFound: (announcementUrl: string) => void): Promise<void> {
    const intervalMs = this.opts.intervalMs ?? 30_000
    const quiet = () => {}
    const common = { ...(this.opts.interfaces ? { interfaces: this.opts.interfaces } : {}), customLogger: quiet }
    const report = (location: string | undefined, from: string) => {
      const url = checkLocation(location, from)
      if (url) onFound(url)
    }
    const server = new ssdp.Server({ ...common, location: { protocol: 'https://', port: this.opts.peerPort, path: ANNOUNCEMENT_PATH }, udn: this.opts.udn, adInterval: intervalMs, suppressRootDeviceAdvertisements: true, ttl: Math.ceil((intervalMs * 3) / 1000) })
    server.addUSN(QULOUD_SSDP_SERVICE)
    server.on('advertise-alive', (headers, rinfo) => {
      if (headers.NT === QULOUD_SSDP_SERVICE && headers.USN !== `${this.opts.udn}::${QULOUD_SSDP_SERVICE}`) report(headers.LOCATION, rinfo.address)
    })
    const client = new ssdp.Client(common)
    client.on('response', (headers, statusCode, rinfo) => {
      if (statusCode === 200 && headers.ST === QULOUD_SSDP_SERVICE && headers.USN !== `${this.opts.udn}::${QULOUD_SSDP_SERVICE}`) report(headers.LOCATION, rinfo.address)
    })
    await server.start()
    this.#server = server
    this.#client = client
    const search = () => {
      try {
        client.search(QULOUD_SSDP_SERVICE)
      } catch {
        // an interface went away: the next search tries again
      }
    }
    search()
    this.#timer = setInterval(search, intervalMs)
    this.#timer.unref?.()
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = null
    this.#client?.stop()
    this.#server?.stop()
    this.#client = null
    this.#server = null
  }
}

/** https://<the sender's IPv4>:<port>/v1/announcement, or null for anything else. */
export function checkLocation(location: string | undefined, from: string): string | null {
  if (typeof location !== 'string' || location.length > 200) return null
  const m = /^https:\/\/(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})\/v1\/announcement$/.exec(location.trim())
  if (!m || m[1] !== from) return null
  const port = Number(m[2])
  return port >= 1 && port <= 65535 ? `https://${m[1]}:${port}${ANNOUNCEMENT_PATH}` : null
}
