/** Wall-clock time, injected so the core stays deterministic in tests. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  nowMs(): number
}
