/** What the node says about itself on the settings page, the API and `quloud status`. */
export interface NodeStatus {
  version: string
  nodeId: string
  /** A master key exists (quloud init has run). */
  initialized: boolean
  /** The owner's keys are not loaded: the node serves others but does not back up. */
  locked: boolean
  dataDir: string
  webUrl: string
  startedAt: string
}
