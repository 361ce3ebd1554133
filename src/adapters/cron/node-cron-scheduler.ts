import cron from 'node-cron'
import type { ScheduledRun, Scheduler } from '../../core/ports/scheduler.js'

/** Scheduler on node-cron 4, in the machine's local time zone. */
export class NodeCronScheduler implements Scheduler {
  validate(expression: string): boolean {
    return typeof expression === 'string' && expression.length <= 120 && cron.validate(expression)
  }

  schedule(expression: string, run: () => void): ScheduledRun {
    const task = cron.schedule(expression, run, { noOverlap: true })
    return { stop: () => void task.stop(), nextRunMs: () => task.getNextRun()?.getTime() ?? null }
  }
}
