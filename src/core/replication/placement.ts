/** A peer that may take a copy, with how many copies it already holds for this owner. */
export interface PlacementCandidate {
  id: string
  load: number
}

/**
 * Picks up to `count` distinct peers for one pack: the least loaded first (spreading copies
 * evenly), ties broken by id so the choice is deterministic. Audit scores and host/network
 * diversity join this policy with audits (see the audit and repair design).
 */
export function choosePeers<T extends PlacementCandidate>(candidates: readonly T[], count: number): T[] {
  if (count <= 0) return []
  const seen = new Set<string>()
  return [...candidates]
    .filter((c) => (seen.has(c.id) ? false : (seen.add(c.id), true)))
    .sort((a, b) => a.load - b.load || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .slice(0, count)
}
