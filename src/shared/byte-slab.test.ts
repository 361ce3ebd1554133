import test from 'ava'
import { ByteSlab } from './byte-slab.js'

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill)

test('copies are equal to their source, independent of it, and share slabs until one is full', (t) => {
  const slab = new ByteSlab(100)
  const sources = Array.from({ length: 7 }, (_, i) => bytes(32, i + 1))
  const copies = sources.map((s) => slab.copy(s))
  copies.forEach((c, i) => t.deepEqual(c, sources[i]))
  for (const s of sources) s.fill(0)
  copies.forEach((c, i) => t.deepEqual([...c], Array(32).fill(i + 1), 'a copy does not follow its source'))
  // 3 copies of 32 bytes fit a 100-byte slab; the 4th starts the next one.
  t.is(copies[0]?.buffer, copies[2]?.buffer)
  t.not(copies[2]?.buffer, copies[3]?.buffer)
  t.is(copies[3]?.buffer, copies[5]?.buffer)
  t.is(copies[0]?.buffer.byteLength, 100)
  // Writing one copy leaves its neighbours alone.
  copies[1]?.fill(9)
  t.deepEqual([...(copies[0] as Uint8Array)], Array(32).fill(1))
  t.deepEqual([...(copies[2] as Uint8Array)], Array(32).fill(3))
})

test('a source longer than a slab gets a buffer of its own; empty copies and bad sizes', (t) => {
  const slab = new ByteSlab(16)
  const big = slab.copy(bytes(40, 5))
  t.is(big.buffer.byteLength, 40)
  t.deepEqual([...big], Array(40).fill(5))
  t.is(slab.copy(new Uint8Array(0)).length, 0)
  t.throws(() => new ByteSlab(0), { instanceOf: RangeError })
})
