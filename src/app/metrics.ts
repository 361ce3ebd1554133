import type { NodeMetrics } from '../core/ports/metrics.js'
import type { OwnerService } from './owner/owner-service.js'

/** The node's metrics now, from the owner engine's state and the storage node's usage. */
export function nodeMetrics(o: { owner: OwnerService; discovered: number; storage: { usedBytes: number; capacityBytes: number } }): NodeMetrics {
  const { owner } = o
  const stats = owner.stats
  const peers = { active: 0, failing: 0, blocked: 0 }
  for (const p of owner.peers()) peers[p.state]++
  const audit = owner.lastAudit
  return {
    shares: owner.listShares().map((s) => ({ name: s.name, healthyPacks: s.healthy, degradedPacks: s.degraded, lostPacks: s.lost, lastBackupMs: s.lastBackupMs, lastBackupSeconds: stats.lastBackupSeconds.get(s.name) ?? null })),
    backupsCompleted: stats.backupsCompleted,
    backupsFailed: stats.backupsFailed,
    backupBytesRead: stats.bytesRead,
    auditReplicasPassed: audit?.round.passed ?? 0,
    auditReplicasFailed: audit?.round.failed ?? 0,
    lastAuditMs: audit?.round.finishedAtMs ?? null,
    peers,
    discoveredPeers: o.discovered,
    storageUsedBytes: o.storage.usedBytes,
    storageCapacityBytes: o.storage.capacityBytes,
    locked: owner.locked,
  }
}
