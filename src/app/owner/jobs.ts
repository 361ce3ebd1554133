import type { Clock } from '../../core/ports/clock.js'
import type { Logger } from '../../core/ports/logger.js'
import { BackupError, notFound } from '../../core/errors.js'

export type JobKind = 'backup' | 'restore' | 'audit'
export type JobState = 'queued' | 'running' | 'done' | 'failed'

export interface JobView {
  id: string
  kind: JobKind
  share: string
  state: JobState
  startedAtMs: number
  finishedAtMs: number | null
  /** Counters the CLI and the page draw progress from (files, bytes, packs, peers). */
  progress: Record<string, number | string>
  /** What the job ended with: e.g. { result: 'complete' | 'degraded', snapshot: 3 }. */
  result: Record<string, unknown> | null
  error: { code: string; message: string } | null
}

const KEEP_FINISHED = 200

/** Long work the local API started: its progress while it runs, its outcome after. */
export class JobRegistry {
  readonly #jobs = new Map<string, JobView>()
  #next = 1

  constructor(
    private readonly clock: Clock,
    private readonly log: Logger,
    /**
     * Run once no job is running any more (after the last of overlapping jobs has ended, however
     * it ended); a failure is logged. The node gives back the memory a large job left behind.
     */
    private readonly afterJobs?: () => Promise<void>,
  ) {}

  start(kind: JobKind, share: string, work: (progress: (p: Record<string, number | string>) => void) => Promise<Record<string, unknown>>): JobView {
    const job: JobView = { id: `${kind}-${this.#next++}-${this.clock.nowMs().toString(36)}`, kind, share, state: 'running', startedAtMs: this.clock.nowMs(), finishedAtMs: null, progress: {}, result: null, error: null }
    this.#jobs.set(job.id, job)
    this.#trim()
    void work((p) => Object.assign(job.progress, p))
      .then(
        (result) => {
          job.result = result
          job.state = 'done'
          job.finishedAtMs = this.clock.nowMs()
        },
        (err) => {
          job.state = 'failed'
          job.finishedAtMs = this.clock.nowMs()
          if (err instanceof BackupError) job.error = { code: err.code, message: err.message }
          else {
            // A bug: the job reports INTERNAL and the node log keeps the details.
            job.error = { code: 'INTERNAL', message: 'internal error (see the node log)' }
            this.log.error({ err, job: job.id }, 'A job failed with an unexpected error')
          }
        },
      )
      .then(() => this.#settled())
    return job
  }

  #settled(): Promise<void> | void {
    if (!this.afterJobs || [...this.#jobs.values()].some((j) => j.state === 'running' || j.state === 'queued')) return
    return this.afterJobs().catch((err: unknown) => this.log.warn({ err }, 'Could not give back the memory of the jobs that ended'))
  }

  get(id: string): JobView {
    const j = this.#jobs.get(id)
    if (!j) throw notFound(`job ${id.slice(0, 40)}`)
    return j
  }

  running(kind: JobKind, share: string): JobView | null {
    for (const j of this.#jobs.values()) if (j.kind === kind && j.share === share && (j.state === 'running' || j.state === 'queued')) return j
    return null
  }

  list(): JobView[] {
    return [...this.#jobs.values()]
  }

  #trim(): void {
    const finished = [...this.#jobs.values()].filter((j) => j.state === 'done' || j.state === 'failed')
    for (const j of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED))) this.#jobs.delete(j.id)
  }
}
