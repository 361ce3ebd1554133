import test from 'ava'
import fc from 'fast-check'
import { PackBuilder, PACK_MAX_ENTRIES } from './pack-builder.js'
import { PackBuffers } from './pack-buffers.js'
import { readPackIndex, openPackedChunk, readTrailer } from './pack-reader.js'
import { padmeLength } from './padme.js'
import { PACK_MAX_BYTES, PACK_TRAILER_BYTES } from './pack-format.js'
import { chunkIdOf, deriveShareKeys } from '../crypto/index.js'
import { asPackId } from '../ids.js'
import { BackupError } from '../errors.js'
import { sodium, sampleBytes } from '../../../test/helpers/index.js'

const keys = deriveShareKeys(sodium, new Uint8Array(32).fill(3))

function buildPack(chunks: Uint8Array[]) {
  const b = new PackBuilder(sodium, keys)
  for (const c of chunks) b.add(chunkIdOf(sodium, keys.idKey, c), c)
  return b.seal()
}

const sample = [sampleBytes(1, 300_000), sampleBytes(2, 10), sampleBytes(3, 70_000)]

test('a sealed pack reads back whole and chunk by chunk from byte ranges', (t) => {
  const pack = buildPack(sample)
  const entries = readPackIndex(sodium, keys.packKey, pack.packId, pack.bytes)
  t.is(entries.length, 3)
  entries.forEach((e, i) => {
    const range = pack.bytes.slice(e.offsetBytes, e.offsetBytes + e.sealedBytes)
    t.deepEqual(openPackedChunk(sodium, keys, pack.packId, e.chunkId, range), sample[i])
  })
  t.is(pack.bytes.length, padmeLength(pack.bytes.length))
})

test('a chunk opens into memory the caller gives (dirty memory is fully overwritten); memory of another size is CHUNK_CORRUPT', (t) => {
  const pack = buildPack(sample)
  const entries = readPackIndex(sodium, keys.packKey, pack.packId, pack.bytes)
  entries.forEach((e, i) => {
    const range = pack.bytes.subarray(e.offsetBytes, e.offsetBytes + e.sealedBytes)
    const into = new Uint8Array(e.plainBytes).fill(0xa5)
    t.is(openPackedChunk(sodium, keys, pack.packId, e.chunkId, range, into), into)
    t.deepEqual(into, sample[i])
    for (const wrong of [e.plainBytes - 1, e.plainBytes + 1]) {
      t.throws(() => openPackedChunk(sodium, keys, pack.packId, e.chunkId, range, new Uint8Array(wrong)), { instanceOf: BackupError, code: 'CHUNK_CORRUPT' })
    }
  })
})

test('the pack contains none of its plaintext, and padding hides the exact size', (t) => {
  const marker = new TextEncoder().encode('QULOUD-PLAINTEXT-MARKER-'.repeat(100))
  const pack = buildPack([marker])
  t.is(Buffer.from(pack.bytes).indexOf(Buffer.from('QULOUD-PLAINTEXT-MARKER')), -1)
  const sizes = new Set([1000, 1001, 1002, 1003].map((n) => buildPack([sampleBytes(n, n * 40)]).bytes.length))
  t.true(sizes.size < 4)
})

function expectCode(t: import('ava').ExecutionContext, fn: () => unknown, code: string, nameHex: string) {
  const err = t.throws(fn, { instanceOf: BackupError, code: code as never })
  t.true(err?.message.includes(nameHex), `message names the object: ${err?.message}`)
}

test('any flipped bit in a pack is rejected with a coded error naming the object', (t) => {
  const pack = buildPack(sample)
  const name = Buffer.from(pack.packId).toString('hex').slice(0, 8)
  const entries = readPackIndex(sodium, keys.packKey, pack.packId, pack.bytes)
  fc.assert(
    fc.property(fc.nat(pack.bytes.length - 1), fc.integer({ min: 0, max: 7 }), (pos, bit) => {
      const bad = pack.bytes.slice()
      bad[pos] = (bad[pos] as number) ^ (1 << bit)
      const inChunk = entries.find((e) => pos >= e.offsetBytes && pos < e.offsetBytes + e.sealedBytes)
      if (inChunk) {
        expectCode(t, () => openPackedChunk(sodium, keys, pack.packId, inChunk.chunkId, bad.subarray(inChunk.offsetBytes, inChunk.offsetBytes + inChunk.sealedBytes)), 'CHUNK_CORRUPT', name)
      } else {
        // Header, trailer or padding: the structure check fails, except a flip in the random
        // padding, which carries no data (the Merkle audit catches that on the storage side).
        const layout = readTrailer(sodium, keys.packKey, pack.packId, pack.bytes.length, pack.bytes.subarray(pack.bytes.length - PACK_TRAILER_BYTES))
        const inPadding = pos >= layout.headerOffset + layout.headerEnvelopeBytes && pos < pack.bytes.length - PACK_TRAILER_BYTES
        if (inPadding) t.notThrows(() => readPackIndex(sodium, keys.packKey, pack.packId, bad))
        else expectCode(t, () => readPackIndex(sodium, keys.packKey, pack.packId, bad), 'OBJECT_CORRUPT', name)
      }
    }),
    { numRuns: 300 },
  )
})

test('a truncated pack, a pack under another id, and an oversized object are rejected', (t) => {
  const pack = buildPack(sample)
  const name = Buffer.from(pack.packId).toString('hex').slice(0, 8)
  for (const cut of [1, 100, 4096, pack.bytes.length - 10]) {
    expectCode(t, () => readPackIndex(sodium, keys.packKey, pack.packId, pack.bytes.subarray(0, pack.bytes.length - cut)), 'OBJECT_CORRUPT', name)
  }
  expectCode(t, () => readPackIndex(sodium, keys.packKey, pack.packId, new Uint8Array(10)), 'OBJECT_CORRUPT', name)
  const other = asPackId(new Uint8Array(32).fill(9))
  t.throws(() => readPackIndex(sodium, keys.packKey, other, pack.bytes), { instanceOf: BackupError, code: 'OBJECT_CORRUPT' })
  t.throws(() => readTrailer(sodium, keys.packKey, pack.packId, PACK_MAX_BYTES + 1, new Uint8Array(PACK_TRAILER_BYTES)), { instanceOf: BackupError, code: 'OBJECT_CORRUPT' })
  const otherKeys = deriveShareKeys(sodium, new Uint8Array(32).fill(4))
  t.throws(() => readPackIndex(sodium, otherKeys.packKey, pack.packId, pack.bytes), { instanceOf: BackupError, code: 'OBJECT_CORRUPT' })
})

test('swapped chunks are rejected: an envelope read in another chunk\'s place fails', (t) => {
  const pack = buildPack(sample)
  const [a, b] = readPackIndex(sodium, keys.packKey, pack.packId, pack.bytes)
  if (!a || !b) return t.fail()
  const name = Buffer.from(b.chunkId).toString('hex').slice(0, 8)
  expectCode(t, () => openPackedChunk(sodium, keys, pack.packId, b.chunkId, pack.bytes.subarray(a.offsetBytes, a.offsetBytes + a.sealedBytes)), 'CHUNK_CORRUPT', name)
  // Swapping the envelopes of two equal-length chunks inside the pack body.
  const twins = buildPack([sampleBytes(20, 500), sampleBytes(21, 500)])
  const [x, y] = readPackIndex(sodium, keys.packKey, twins.packId, twins.bytes)
  if (!x || !y) return t.fail()
  const swapped = twins.bytes.slice()
  swapped.set(twins.bytes.subarray(y.offsetBytes, y.offsetBytes + y.sealedBytes), x.offsetBytes)
  swapped.set(twins.bytes.subarray(x.offsetBytes, x.offsetBytes + x.sealedBytes), y.offsetBytes)
  t.throws(() => openPackedChunk(sodium, keys, twins.packId, x.chunkId, swapped.subarray(x.offsetBytes, x.offsetBytes + x.sealedBytes)), { instanceOf: BackupError, code: 'CHUNK_CORRUPT' })
  // Truncated range.
  t.throws(() => openPackedChunk(sodium, keys, twins.packId, x.chunkId, twins.bytes.subarray(x.offsetBytes, x.offsetBytes + 20)), { instanceOf: BackupError, code: 'CHUNK_CORRUPT' })
})

test('packs close at 16 MiB and at the entry cap, and always fit the maximum object size', (t) => {
  const b = new PackBuilder(sodium, keys)
  const big = sampleBytes(30, 4 * 1024 * 1024)
  let n = 0
  while (!b.full) {
    b.add(chunkIdOf(sodium, keys.idKey, big.subarray(n, n + 4 * 1024 * 1024 - n)), big.subarray(n, 4 * 1024 * 1024 - n))
    n++
  }
  const pack = b.seal()
  t.true(pack.bytes.length <= PACK_MAX_BYTES)
  t.true(pack.bytes.length >= 16 * 1024 * 1024)
  const tiny = new PackBuilder(sodium, keys)
  for (let i = 0; !tiny.full; i++) {
    const c = new Uint8Array([i & 0xff, i >> 8])
    tiny.add(chunkIdOf(sodium, keys.idKey, c), c)
  }
  t.is(tiny.chunkCount, PACK_MAX_ENTRIES)
  const sealed = tiny.seal()
  t.true(sealed.bytes.length <= PACK_MAX_BYTES)
  t.is(readPackIndex(sodium, keys.packKey, sealed.packId, sealed.bytes).length, PACK_MAX_ENTRIES)
  t.throws(() => new PackBuilder(sodium, keys).add(chunkIdOf(sodium, keys.idKey, new Uint8Array(1)), new Uint8Array(4 * 1024 * 1024 + 1)), { instanceOf: BackupError, code: 'INPUT_INVALID' })
})

test('padmé: known values and never more than 12% overhead', (t) => {
  t.is(padmeLength(0), 0)
  t.is(padmeLength(1), 1)
  t.is(padmeLength(9), 10)
  t.is(padmeLength(1000), 1024)
  t.is(padmeLength(16 * 1024 * 1024 + 1), 16.5 * 1024 * 1024)
  fc.assert(fc.property(fc.integer({ min: 2, max: 2 ** 40 }), (l) => {
    const p = padmeLength(l)
    t.true(p >= l && p <= l * 1.12 + 1)
  }))
})

test('pack buffers: a recycled pack buffer is lent again (also to another builder), dirty memory still seals exact packs, and no memory is ever kept twice', (t) => {
  let made = 0
  // Views that do not start at their buffer's start, as page-aligned pack memory is carved.
  const buffers = new PackBuffers((n) => (made++, new Uint8Array(new ArrayBuffer(n + 100), 37, n)), 2)
  const a = new PackBuilder(sodium, keys, { buffers })
  a.add(chunkIdOf(sodium, keys.idKey, sample[0] as Uint8Array), sample[0] as Uint8Array)
  const first = a.seal()
  t.is(first.bytes.byteOffset, 37)
  a.recycle(first)
  a.recycle(first) // twice: still one spare, or two builders would share memory
  t.is(buffers.spare, 1)
  const b = new PackBuilder(sodium, keys, { buffers })
  for (const c of sample.slice(1)) b.add(chunkIdOf(sodium, keys.idKey, c), c)
  const second = b.seal()
  t.is(made, 1, 'the second builder reused the first pack\'s memory')
  t.is(second.bytes.buffer, first.bytes.buffer)
  t.is(buffers.spare, 0)
  const entries = readPackIndex(sodium, keys.packKey, second.packId, second.bytes)
  entries.forEach((e, i) => t.deepEqual(openPackedChunk(sodium, keys, second.packId, e.chunkId, second.bytes.subarray(e.offsetBytes, e.offsetBytes + e.sealedBytes)), sample[i + 1]))
  // At most maxSpare are kept; memory that is not a whole pack buffer is not kept at all.
  buffers.give(buffers.take())
  buffers.give(new Uint8Array(PACK_MAX_BYTES))
  buffers.give(new Uint8Array(PACK_MAX_BYTES))
  buffers.give(new Uint8Array(1000))
  t.is(buffers.spare, 2)
})
