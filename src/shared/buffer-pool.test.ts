import test from 'ava'
import { BufferPool } from './buffer-pool.js'

const MiB = 1024 * 1024
const pool = (over: Partial<ConstructorParameters<typeof BufferPool>[0]> = {}) => new BufferPool({ maxIdle: 2, maxIdleBytes: 64 * MiB, granule: MiB, idleMs: 60_000, ...over })

test('a released buffer is lent again, as a view of exactly the size asked for', (t) => {
  const p = pool()
  const a = p.take(3 * MiB + 5)
  t.is(a.bytes.length, 3 * MiB + 5)
  t.is(a.bytes.buffer.byteLength, 4 * MiB, 'rounded up to the granule')
  a.bytes.fill(7)
  const first = a.bytes.buffer
  a.release()
  t.deepEqual(p.idle, { count: 1, bytes: 4 * MiB })
  const b = p.take(4 * MiB)
  t.is(b.bytes.buffer, first, 'the same memory, not a new allocation')
  t.is(b.bytes.length, 4 * MiB)
  t.deepEqual(p.idle, { count: 0, bytes: 0 })
  const c = p.take(MiB)
  t.not(c.bytes.buffer, first, 'a buffer still lent is never lent twice')
  p.clear()
})

test('release is idempotent: a buffer released twice is kept once and lent once', (t) => {
  const p = pool()
  const a = p.take(MiB)
  a.release()
  a.release()
  t.is(p.idle.count, 1)
  const b = p.take(MiB)
  const c = p.take(MiB)
  t.not(b.bytes.buffer, c.bytes.buffer)
  p.clear()
})

test('the smallest idle buffer that fits is lent; one too small is not', (t) => {
  const p = pool({ maxIdle: 4 })
  const big = p.take(16 * MiB)
  const small = p.take(2 * MiB)
  const bigBuffer = big.bytes.buffer
  const smallBuffer = small.bytes.buffer
  big.release()
  small.release()
  t.is(p.take(MiB).bytes.buffer, smallBuffer)
  const next = p.take(3 * MiB)
  t.is(next.bytes.buffer, bigBuffer, 'the 2 MiB one is lent out; the 16 MiB one fits')
  const fresh = p.take(20 * MiB)
  t.not(fresh.bytes.buffer, bigBuffer)
  t.is(fresh.bytes.buffer.byteLength, 20 * MiB)
  p.clear()
})

test('idle buffers are bounded by count and by bytes, and dropped after the idle time', async (t) => {
  const byCount = pool({ maxIdle: 2 })
  const lent = [byCount.take(MiB), byCount.take(MiB), byCount.take(MiB)]
  for (const l of lent) l.release()
  t.is(byCount.idle.count, 2)
  byCount.clear()

  const byBytes = pool({ maxIdle: 10, maxIdleBytes: 5 * MiB })
  const two = [byBytes.take(4 * MiB), byBytes.take(4 * MiB)]
  for (const l of two) l.release()
  t.deepEqual(byBytes.idle, { count: 1, bytes: 4 * MiB })
  byBytes.clear()

  const timed = pool({ idleMs: 20 })
  timed.take(MiB).release()
  t.is(timed.idle.count, 1)
  await new Promise((r) => setTimeout(r, 80))
  t.deepEqual(timed.idle, { count: 0, bytes: 0 })
})

test('bad sizes and options are refused', (t) => {
  const p = pool()
  t.throws(() => p.take(-1), { instanceOf: RangeError })
  t.throws(() => p.take(1.5), { instanceOf: RangeError })
  t.is(p.take(0).bytes.length, 0)
  t.throws(() => pool({ granule: 0 }), { instanceOf: RangeError })
  p.clear()
})

test('a shared pool lends views of SharedArrayBuffers, and lends them again', (t) => {
  const p = pool({ shared: true })
  const a = p.take(MiB + 1)
  t.true(a.bytes.buffer instanceof SharedArrayBuffer)
  t.is(a.bytes.length, MiB + 1)
  const first = a.bytes.buffer
  a.release()
  t.is(p.take(2 * MiB).bytes.buffer, first)
  t.true(pool().take(10).bytes.buffer instanceof ArrayBuffer, 'plain memory otherwise')
  p.clear()
})
