import { Gauge, Registry } from 'prom-client'
import type { MetricsExporter, NodeMetrics } from '../../core/ports/metrics.js'

/**
 * MetricsExporter on prom-client: one registry whose gauges are set from a snapshot at each
 * scrape (the node keeps the counts; nothing here accumulates). Names follow Prometheus
 * conventions: quloud_ prefix, units and _total in the names.
 */
export class PromMetricsExporter implements MetricsExporter {
  readonly #registry = new Registry()
  readonly #g = {
    packs: this.#gauge('quloud_share_packs', 'Packs of a share by copy health (healthy: all copies; degraded: some; lost: none)', ['share', 'health']),
    lastBackup: this.#gauge('quloud_share_last_backup_timestamp_seconds', 'When the share last finished a backup', ['share']),
    lastDuration: this.#gauge('quloud_share_last_backup_duration_seconds', 'How long the share\'s last backup in this process took', ['share']),
    backups: this.#gauge('quloud_backups_total', 'Backups finished since the node started, by outcome', ['outcome']),
    bytes: this.#gauge('quloud_backup_read_bytes_total', 'Bytes read from shares by backups since the node started', []),
    audit: this.#gauge('quloud_audit_replicas', 'Copies checked in the last audit round, by result', ['result']),
    lastAudit: this.#gauge('quloud_audit_last_timestamp_seconds', 'When the last audit round finished', []),
    peers: this.#gauge('quloud_peers', 'This owner\'s peers by state', ['state']),
    discovered: this.#gauge('quloud_discovered_peers', 'Nodes known through SSDP and peer exchange', []),
    used: this.#gauge('quloud_storage_used_bytes', 'Bytes this node keeps for other owners', []),
    capacity: this.#gauge('quloud_storage_capacity_bytes', 'Bytes this node offers to other owners', []),
    locked: this.#gauge('quloud_locked', '1 while the owner keys are locked (no backups)', []),
  }

  #gauge(name: string, help: string, labelNames: string[]): Gauge {
    return new Gauge({ name, help, labelNames, registers: [this.#registry] })
  }

  async render(m: NodeMetrics): Promise<{ contentType: string; body: string }> {
    const g = this.#g
    for (const x of Object.values(g)) x.reset()
    for (const s of m.shares) {
      g.packs.set({ share: s.name, health: 'healthy' }, s.healthyPacks)
      g.packs.set({ share: s.name, health: 'degraded' }, s.degradedPacks)
      g.packs.set({ share: s.name, health: 'lost' }, s.lostPacks)
      if (s.lastBackupMs !== null) g.lastBackup.set({ share: s.name }, s.lastBackupMs / 1000)
      if (s.lastBackupSeconds !== null) g.lastDuration.set({ share: s.name }, s.lastBackupSeconds)
    }
    g.backups.set({ outcome: 'completed' }, m.backupsCompleted)
    g.backups.set({ outcome: 'failed' }, m.backupsFailed)
    g.bytes.set(m.backupBytesRead)
    g.audit.set({ result: 'passed' }, m.auditReplicasPassed)
    g.audit.set({ result: 'failed' }, m.auditReplicasFailed)
    if (m.lastAuditMs !== null) g.lastAudit.set(m.lastAuditMs / 1000)
    for (const [state, n] of Object.entries(m.peers)) g.peers.set({ state }, n)
    g.discovered.set(m.discoveredPeers)
    g.used.set(m.storageUsedBytes)
    g.capacity.set(m.storageCapacityBytes)
    g.locked.set(m.locked ? 1 : 0)
    return { contentType: this.#registry.contentType, body: await this.#registry.metrics() }
  }
}
