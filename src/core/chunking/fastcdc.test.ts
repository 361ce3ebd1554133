import test from 'ava'
import fc from 'fast-check'
import { Chunker, chunkLengths, DEFAULT_CHUNK_SIZES, type ChunkSizes } from './fastcdc.js'
import { gearTable } from './gear.js'
import { BackupError } from '../errors.js'
import { sodium, sampleBytes } from '../../../test/helpers/index.js'

const gear = gearTable(sodium, new Uint8Array(32).fill(1))
const SMALL: ChunkSizes = { minBytes: 64, avgBytes: 256, maxBytes: 1024 }

function chunksOf(data: Uint8Array, splits: number[], sizes: ChunkSizes): Uint8Array[] {
  const out: Uint8Array[] = []
  const c = new Chunker(gear, sizes)
  let at = 0
  for (const s of [...splits, data.length]) {
    const end = Math.min(Math.max(at, s), data.length)
    c.push(data.subarray(at, end), (x) => out.push(x.slice()))
    at = end
  }
  c.finish((x) => out.push(x.slice()))
  return out
}

test('chunks concatenate to the input, stay in bounds, and do not depend on how input was split', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 20_000 }), fc.array(fc.nat(20_000), { maxLength: 8 }), (data, splits) => {
      const chunks = chunksOf(data, splits.sort((a, b) => a - b), SMALL)
      t.deepEqual(Buffer.concat(chunks), Buffer.from(data))
      chunks.forEach((c, i) => {
        t.true(c.length <= SMALL.maxBytes)
        if (i < chunks.length - 1) t.true(c.length >= SMALL.minBytes)
        t.true(c.length > 0)
      })
      t.deepEqual(chunks.map((c) => c.length), chunkLengths(gear, data, SMALL))
    }),
    { numRuns: 200 },
  )
})

test('default sizes: 256 KiB ≤ chunk ≤ 4 MiB and the average is near 1 MiB on random data', (t) => {
  const data = sampleBytes(5, 48 * 1024 * 1024)
  const lengths = chunkLengths(gear, data)
  t.is(lengths.reduce((a, b) => a + b, 0), data.length)
  for (const l of lengths.slice(0, -1)) t.true(l >= DEFAULT_CHUNK_SIZES.minBytes && l <= DEFAULT_CHUNK_SIZES.maxBytes)
  const avg = data.length / lengths.length
  t.true(avg > 700 * 1024 && avg < 1500 * 1024, `average ${avg}`)
})

test('an insertion near the start of a large file leaves most later chunks unchanged', (t) => {
  const data = sampleBytes(11, 32 * 1024 * 1024)
  const edited = Buffer.concat([data.subarray(0, 1000), Buffer.from('inserted bytes!'), data.subarray(1000)])
  const ids = (d: Uint8Array) => {
    const out: string[] = []
    const c = new Chunker(gear)
    const take = (x: Uint8Array) => out.push(Buffer.from(sodium.sha256(x)).toString('hex'))
    c.push(d, take)
    c.finish(take)
    return out
  }
  const before = ids(data)
  const after = new Set(ids(edited))
  const kept = before.filter((h) => after.has(h)).length
  t.true(kept >= before.length - 2, `${kept} of ${before.length} chunks kept`)
})

test('property: a random insertion changes at most a tenth of the small-size chunks', (t) => {
  fc.assert(
    fc.property(fc.nat(30_000), fc.uint8Array({ minLength: 1, maxLength: 50 }), (pos, ins) => {
      const data = sampleBytes(13, 40_000)
      const edited = Buffer.concat([data.subarray(0, pos), ins, data.subarray(pos)])
      const key = (c: Uint8Array) => Buffer.from(c).toString('base64')
      const before = chunksOf(data, [], SMALL).map(key)
      const after = new Set(chunksOf(edited, [], SMALL).map(key))
      const lost = before.filter((k) => !after.has(k)).length
      t.true(lost <= Math.max(4, before.length / 10), `${lost} of ${before.length} chunks changed`)
    }),
    // A fixed seed keeps the statistical bound from making the test flaky.
    { numRuns: 50, seed: 20261126 },
  )
})

test('the gear table depends on the key, so boundaries do too', (t) => {
  const other = gearTable(sodium, new Uint8Array(32).fill(2))
  const data = sampleBytes(17, 16 * 1024 * 1024)
  t.notDeepEqual(chunkLengths(gear, data), chunkLengths(other, data))
})

test('invalid sizes and tables are refused with INPUT_INVALID', (t) => {
  t.throws(() => new Chunker(gear, { minBytes: 10, avgBytes: 300, maxBytes: 1000 }), { instanceOf: BackupError, code: 'INPUT_INVALID' })
  t.throws(() => new Chunker(gear, { minBytes: 500, avgBytes: 256, maxBytes: 1000 }), { instanceOf: BackupError, code: 'INPUT_INVALID' })
  t.throws(() => new Chunker(new Uint32Array(10)), { instanceOf: BackupError, code: 'INPUT_INVALID' })
})
