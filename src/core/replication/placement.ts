/** A peer that may take a copy, with how many copies it already holds for this owner. */
export interface PlacementCandidate {
  id: string
  load: number
  /** Audit score 0..1 (1 when unknown). */
  score?: number
  /** Whether the peer failed its last audit round. */
  failedLast?: boolean
  /** Its host (address or name) and network (/24 for IPv4, /48 for IPv6), from its URL. */
  host?: string
  network?: string
}

/** Where a peer lives, from its https URL: the host, and the network around it. */
export function siteOf(url: string): { host: string; network: string } {
  const m = /^https:\/\/(\[([0-9a-fA-F:.]+)\]|[^:/]+)/.exec(url)
  const host = (m?.[2] ?? m?.[1] ?? url).toLowerCase()
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.\d{1,3}$/.exec(host)
  if (v4) return { host, network: `${v4[1]}.${v4[2]}.${v4[3]}.0/24` }
  if (host.includes(':')) return { host, network: `${expandV6(host).slice(0, 3).join(':')}::/48` }
  // A name: its domain stands for its network (nas.alice.example → alice.example).
  const labels = host.split('.')
  return { host, network: labels.length > 2 ? labels.slice(1).join('.') : host }
}

function expandV6(host: string): string[] {
  const [head = '', tail = ''] = host.split('::')
  const h = head ? head.split(':') : []
  const t = tail ? tail.split(':') : []
  return [...h, ...Array(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t]
}

/**
 * Picks up to `count` distinct peers for one pack, one at a time, preferring in this order:
 * peers that passed their last audit round, a host and then a network that holds no copy of the
 * pack yet (`holders` and the peers already picked), a better audit score (in steps of 0.1, so
 * noise does not decide), the least loaded; ties broken by id so the choice is deterministic.
 */
export function choosePeers<T extends PlacementCandidate>(candidates: readonly T[], count: number, holders: ReadonlyArray<{ host?: string; network?: string }> = []): T[] {
  if (count <= 0) return []
  const seen = new Set<string>()
  const pool = candidates.filter((c) => (seen.has(c.id) ? false : (seen.add(c.id), true)))
  const hosts = new Set(holders.flatMap((h) => (h.host ? [h.host] : [])))
  const networks = new Set(holders.flatMap((h) => (h.network ? [h.network] : [])))
  const out: T[] = []
  while (out.length < count && pool.length > 0) {
    const key = (c: T) => [c.failedLast ? 1 : 0, c.host && hosts.has(c.host) ? 1 : 0, c.network && networks.has(c.network) ? 1 : 0, -Math.floor((c.score ?? 1) * 10 + 1e-9), c.load]
    pool.sort((a, b) => {
      const ka = key(a)
      const kb = key(b)
      for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return (ka[i] as number) - (kb[i] as number)
      return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
    })
    const pick = pool.shift() as T
    out.push(pick)
    if (pick.host) hosts.add(pick.host)
    if (pick.network) networks.add(pick.network)
  }
  return out
}
