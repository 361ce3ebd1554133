/** Something the owner should hear about, as it leaves the node (no secrets, no file contents). */
export interface Alert {
  event: 'backup-failed' | 'copies-lost' | 'backup-overdue' | 'test'
  /** The node that sends it (hex). */
  nodeId: string
  atMs: number
  /** One sentence for a person. */
  message: string
  share?: string
  details?: Record<string, string | number | null>
}

/**
 * Where alerts go (a webhook in production). send() resolves once the receiver accepted the
 * alert and rejects with a coded error otherwise; it never includes its address in errors.
 */
export interface AlertSink {
  send(alert: Alert): Promise<void>
}
