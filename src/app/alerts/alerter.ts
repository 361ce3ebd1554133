import type { Alert, AlertSink } from '../../core/ports/alert-sink.js'
import type { Clock } from '../../core/ports/clock.js'
import type { Logger } from '../../core/ports/logger.js'
import { BackupError, rethrowIfBug } from '../../core/errors.js'

/** What the owner engine reports for alerts. */
export type AlertEvent =
  | { kind: 'backup-failed'; share: string; code: string }
  | { kind: 'backup-ok'; share: string }
  | { kind: 'copies-lost'; failedCopies: number; missingPacks: number; peers: string[] }

export interface ShareBackupState {
  name: string
  imported: boolean
  createdAtMs: number
  lastBackupMs: number | null
}

/**
 * Sends alerts (DESIGN §10): a backup failed, an audit found copies that are lost or bad, or a
 * share had no successful backup within the expected window (once per share until it backs up
 * again). A backup that keeps failing the same way (the node retries it) alerts once until it
 * succeeds or fails otherwise. A failed send is retried once after a few seconds, then logged; it never stops a backup.
 */
export class Alerter {
  readonly #overdue = new Set<string>()
  /** Shares whose failure was reported, with its code. */
  readonly #failing = new Map<string, string>()

  /** `sinks`: the webhook and the email, as configured (none: alerts are only logged). */
  constructor(private readonly deps: { sinks: AlertSink[]; clock: Clock; log: Logger; nodeId: string; backupWindowMs: number; retryDelayMs?: number }) {}

  notify(e: AlertEvent): Promise<void> {
    if (e.kind === 'backup-ok') {
      this.#failing.delete(e.share)
      return Promise.resolve()
    }
    if (e.kind === 'backup-failed') {
      if (this.#failing.get(e.share) === e.code) return Promise.resolve()
      this.#failing.set(e.share, e.code)
      return this.#send({ event: 'backup-failed', share: e.share, message: `the backup of "${e.share}" failed (${e.code})`, details: { code: e.code } })
    }
    return this.#send({ event: 'copies-lost', message: `an audit found ${e.failedCopies} bad or lost cop${e.failedCopies === 1 ? 'y' : 'ies'}; ${e.missingPacks} pack(s) still lack copies after repair`, details: { failedCopies: e.failedCopies, missingPacks: e.missingPacks, peers: e.peers.join(',') } })
  }

  /** Alerts once for each share whose last success (or creation) is older than the window. */
  async checkOverdue(shares: ShareBackupState[]): Promise<void> {
    const now = this.deps.clock.nowMs()
    for (const s of shares) {
      if (s.imported) continue
      const since = s.lastBackupMs ?? s.createdAtMs
      if (now - since < this.deps.backupWindowMs) {
        this.#overdue.delete(s.name)
        continue
      }
      if (this.#overdue.has(s.name)) continue
      this.#overdue.add(s.name)
      const hours = Math.round(this.deps.backupWindowMs / 3600_000)
      await this.#send({ event: 'backup-overdue', share: s.name, message: `"${s.name}" has had no successful backup for more than ${hours} hours`, details: { lastBackupMs: s.lastBackupMs, windowHours: hours } })
    }
  }

  async #send(a: Omit<Alert, 'nodeId' | 'atMs'>): Promise<void> {
    const alert: Alert = { ...a, nodeId: this.deps.nodeId, atMs: this.deps.clock.nowMs() }
    this.deps.log.info({ event: alert.event, share: alert.share ?? null }, 'Alert')
    await Promise.all(this.deps.sinks.map((sink) => this.#deliver(sink, alert)))
  }

  async #deliver(sink: AlertSink, alert: Alert): Promise<void> {
    const { log } = this.deps
    for (let attempt = 1; attempt <= 2; attempt++) {
      try {
        await sink.send(alert)
        return
      } catch (err) {
        rethrowIfBug(err)
        if (attempt === 2) log.warn({ event: alert.event, code: err instanceof BackupError ? err.code : 'UNKNOWN' }, 'An alert could not be delivered')
        else await new Promise((r) => setTimeout(r, this.deps.retryDelayMs ?? 5000))
      }
    }
  }
}
