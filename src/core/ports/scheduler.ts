/** Runs work on cron schedules (node-cron in production). */
export interface Scheduler {
  /** True when `expression` is a valid 5- or 6-field cron expression. */
  validate(expression: string): boolean
  /** Calls `run` at every time the expression names until stop(); nextRunMs() says when next. */
  schedule(expression: string, run: () => void): ScheduledRun
}

export interface ScheduledRun {
  stop(): void
  /** When `run` is called next (ms since the epoch), or null when never. */
  nextRunMs(): number | null
}

/**
 * Tells when anything below a folder changes (chokidar in production): creations, changes,
 * deletions and renames, in bursts; the caller debounces.
 */
export interface ChangeWatcher {
  watch(folder: string, onChange: () => void): Promise<{ close(): Promise<void> }>
}
