import test from 'ava'
import { JobRegistry } from './jobs.js'
import { SystemClock } from '../../adapters/system/system-clock.js'
import { JsonLogger } from '../../adapters/log/json-logger.js'
import { inputInvalid } from '../../core/errors.js'

/** A job's work that ends when told to. */
function gated<T>() {
  let end!: (v: T) => void
  let fail!: (e: unknown) => void
  const done = new Promise<T>((resolve, reject) => ((end = resolve), (fail = reject)))
  return { work: () => done, end, fail }
}

const settle = () => new Promise((r) => setImmediate(r))

test('afterJobs runs once no job is running: after the last of overlapping jobs, however each ended', async (t) => {
  const lines: string[] = []
  const log = new JsonLogger({ level: 'warn', write: (l: string) => lines.push(l) })
  let runs = 0
  const jobs = new JobRegistry(new SystemClock(), log, async () => void runs++)
  const a = gated<Record<string, unknown>>()
  const b = gated<Record<string, unknown>>()
  const ja = jobs.start('restore', 's1', a.work)
  jobs.start('backup', 's2', b.work)
  a.end({ ok: true })
  await settle()
  t.is(jobs.get(ja.id).state, 'done')
  t.is(runs, 0, 'the backup still runs')
  b.fail(inputInvalid('no'))
  await settle()
  t.is(runs, 1)
  // A job alone that fails: once more.
  const c = gated<Record<string, unknown>>()
  jobs.start('audit', 'all', c.work)
  c.fail(inputInvalid('no again'))
  await settle()
  t.is(runs, 2)
  t.deepEqual(lines, [])
})

test('a failing afterJobs is logged as a warning and changes no job', async (t) => {
  const lines: string[] = []
  const log = new JsonLogger({ level: 'warn', write: (l: string) => lines.push(l) })
  const jobs = new JobRegistry(new SystemClock(), log, () => Promise.reject(new Error('no memory to give')))
  const j = jobs.start('restore', 's', async () => ({ files: 1 }))
  await settle()
  await settle()
  t.is(jobs.get(j.id).state, 'done')
  t.deepEqual(jobs.get(j.id).result, { files: 1 })
  t.is(lines.length, 1)
  t.regex(lines[0] as string, /Could not give back the memory/)
})
