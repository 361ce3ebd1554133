import test from 'ava'
import { UploadWhileReading } from './upload-while-reading.js'
import { BackupError, InvariantError } from '../../core/errors.js'

const tick = () => new Promise((r) => setImmediate(r))

test('a wake during a pass gives one more pass after it, never two at once; stop() waits for the last', async (t) => {
  let running = 0
  let passes = 0
  const gates: Array<() => void> = []
  const upload = new UploadWhileReading(async () => {
    running++
    t.is(running, 1, 'passes never overlap')
    passes++
    await new Promise<void>((r) => gates.push(r))
    running--
  })
  upload.wake()
  await tick()
  upload.wake()
  upload.wake() // three wakes during one pass: one more pass, not three
  gates.shift()?.()
  await tick()
  t.is(passes, 2)
  const stopped = upload.stop()
  let done = false
  void stopped.then(() => (done = true))
  await tick()
  t.false(done, 'stop() waits for the pass in progress')
  gates.shift()?.()
  await stopped
  t.is(passes, 2)
  upload.wake()
  await tick()
  t.is(passes, 2, 'no pass after stop()')
})

test('a failed pass (a peer, the spool) is left to the final one; a bug surfaces from stop()', async (t) => {
  let calls = 0
  const flaky = new UploadWhileReading(async () => {
    calls++
    if (calls === 1) throw new BackupError('PEER_UNREACHABLE', 'no peer')
  })
  flaky.wake()
  await tick()
  flaky.wake()
  await flaky.stop()
  t.is(calls, 2)
  const buggy = new UploadWhileReading(async () => {
    throw new InvariantError('broken')
  })
  buggy.wake()
  await tick()
  await tick()
  await t.throwsAsync(buggy.stop(), { instanceOf: InvariantError })
})
