/** The node's numbers at one moment, as /metrics publishes them (units in the names). */
export interface NodeMetrics {
  shares: Array<{ name: string; healthyPacks: number; degradedPacks: number; lostPacks: number; lastBackupMs: number | null; lastBackupSeconds: number | null }>
  backupsCompleted: number
  backupsFailed: number
  backupBytesRead: number
  auditReplicasPassed: number
  auditReplicasFailed: number
  lastAuditMs: number | null
  peers: Record<'active' | 'failing' | 'blocked', number>
  discoveredPeers: number
  storageUsedBytes: number
  storageCapacityBytes: number
  locked: boolean
}

/** Renders metrics for a scraper (Prometheus text format in production). */
export interface MetricsExporter {
  render(m: NodeMetrics): Promise<{ contentType: string; body: string }>
}
