/** What the node says about itself on the settings page, the API and `quloud status`. */
export interface NodeStatus {
  version: string
  nodeId: string
  /** The owner id (derived from the master key) that signs this owner's stores; null while locked. */
  ownerId: string | null
  /** A master key exists (quloud init has run). */
  initialized: boolean
  /** The owner's keys are not loaded: the node serves others but does not back up. */
  locked: boolean
  /** Unlocked and with proof keys: backups and restores can run. */
  ownerReady: boolean
  dataDir: string
  webUrl: string
  startedAt: string
}
