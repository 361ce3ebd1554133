import test from 'ava'
import { join } from 'node:path'
import { writeFile } from 'node:fs/promises'
import { chunkSealerContract } from '../../../test/contract/chunk-sealer.js'
import { WorkerChunkSealer } from './worker-chunk-sealer.js'
import { InlineChunkSealer } from '../../app/inline-chunk-sealer.js'
import { sodium, sampleBytes, hex, tempDir } from '../../../test/helpers/index.js'
import { DEFAULT_CHUNK_SIZES, chunkLengths, gearTable } from '../../core/chunking/index.js'
import { merkleRoot } from '../../core/audit/index.js'

const idKey = new Uint8Array(32).fill(6)
const keys = { idKey, gear: gearTable(sodium, idKey), chunkKey: new Uint8Array(32).fill(7) }

chunkSealerContract('WorkerChunkSealer', async (t) => {
  const s = new WorkerChunkSealer({ threads: 2 })
  t.teardown(() => s.close())
  return s
})
// The same contract on core's TypeScript loops (what runs where the native module did not build).
chunkSealerContract('WorkerChunkSealer without the native module', async (t) => {
  const before = process.env.QULOUD_NATIVE_INGEST
  process.env.QULOUD_NATIVE_INGEST = '0' // workers copy the environment when they start
  const s = new WorkerChunkSealer({ threads: 2 })
  if (before === undefined) delete process.env.QULOUD_NATIVE_INGEST
  else process.env.QULOUD_NATIVE_INGEST = before
  t.teardown(() => s.close())
  return s
})
chunkSealerContract('InlineChunkSealer', async () => new InlineChunkSealer(sodium), { localFiles: false })

test('one worker: a file whose consumer waits for Merkle roots from that same worker still completes', async (t) => {
  const s = new WorkerChunkSealer({ threads: 1 })
  t.teardown(() => s.close())
  const dir = await tempDir(t)
  // Larger than the worker's envelope slots hold: it must wait for slots while a root is asked of it.
  const data = sampleBytes(9, 20 * 1024 * 1024)
  await writeFile(join(dir, 'big.bin'), data)
  const obj = sampleBytes(10, 50_000)
  let chunks = 0
  const read = await s.sealLocalFile(keys, join(dir, 'big.bin'), DEFAULT_CHUNK_SIZES, async (got) => {
    chunks += got.length
    t.is(hex(await s.merkleRoot(obj)), hex(merkleRoot(sodium, obj)))
  })
  t.is(read.bytesRead, data.length)
  t.is(chunks, chunkLengths(keys.gear, data).length)
})

test('openChunks: envelopes in shared memory open in place on a worker under their ids (the chunk key alone); the first that does not open is named', async (t) => {
  const s = new WorkerChunkSealer({ threads: 2 })
  t.teardown(() => s.close())
  const plains = [sampleBytes(21, 300_000), sampleBytes(22, 5), sampleBytes(23, 70_000)]
  const sealed = await s.sealWhole(keys, Uint8Array.from(Buffer.concat(plains)), { minBytes: 16 * 1024, avgBytes: 64 * 1024, maxBytes: 256 * 1024 })
  t.true(sealed.length >= 3)
  const source = new Uint8Array(new SharedArrayBuffer(sealed.reduce((n, c) => n + c.envelope.length, 100)))
  let at = 100 // the envelopes need not start at 0
  let to = 0
  const chunks = sealed.map((c) => {
    source.set(c.envelope, at)
    const spec = { chunkId: c.id, at, sealedBytes: c.envelope.length, to, plainBytes: c.plainBytes }
    at += c.envelope.length
    to += c.plainBytes
    return spec
  })
  const into = new Uint8Array(new SharedArrayBuffer(to))
  t.is(await s.openChunks({ chunkKey: keys.chunkKey }, source, into, chunks), null)
  t.deepEqual(Buffer.from(into), Buffer.concat(plains))
  // A flipped bit in the second envelope: that one fails authentication.
  const flipped = chunks[1] as (typeof chunks)[number]
  source[flipped.at + 30] = (source[flipped.at + 30] as number) ^ 1
  t.deepEqual(await s.openChunks(keys, source, into, chunks), { index: 1 })
  source[flipped.at + 30] = (source[flipped.at + 30] as number) ^ 1
  // The first envelope asked for under the second chunk's id: it was sealed for another id.
  const first = chunks[0] as (typeof chunks)[number]
  const second = chunks[1] as (typeof chunks)[number]
  t.deepEqual(await s.openChunks(keys, source, into, [second, { ...first, chunkId: second.chunkId }]), { index: 1 })
  // An envelope that opens, but not to the length its chunk has: it is not that chunk.
  t.deepEqual(await s.openChunks(keys, source, into, [{ ...first, plainBytes: first.plainBytes - 1 }]), { index: 0 })
  // Memory that is not shared, or a chunk outside its buffers: INPUT_INVALID, nothing is sent.
  await t.throwsAsync(s.openChunks(keys, source.slice(), into, chunks), { code: 'INPUT_INVALID' })
  await t.throwsAsync(s.openChunks(keys, source, into, [{ ...flipped, to: into.length }]), { code: 'INPUT_INVALID' })
  await s.close()
  await t.throwsAsync(s.openChunks(keys, source, into, chunks), { code: 'CLOSED' })
})

// Serial: it weighs this process's shared memory, so no other test may allocate meanwhile.
test.serial('collectGarbage: shared memory the workers were lent is freed once they and this thread have collected, not before', async (t) => {
  const { collectGarbage } = await import('../system/v8-heap-tuning.js')
  const s = new WorkerChunkSealer({ threads: 2 })
  t.teardown(() => s.close())
  await s.ready()
  const MIB = 1024 * 1024
  collectGarbage()
  const base = process.memoryUsage().arrayBuffers
  // As a restore does: a range and a large chunk buffer, both shared, lent to each worker, then dropped.
  const lend = async () => {
    const plain = sampleBytes(31, 100_000)
    const [chunk] = await s.sealWhole(keys, plain.slice(), { minBytes: 16 * 1024, avgBytes: 64 * 1024, maxBytes: 256 * 1024 })
    if (!chunk) throw new Error('no chunk')
    const open = async () => {
      const source = new Uint8Array(new SharedArrayBuffer(MIB))
      source.set(chunk.envelope)
      const into = new Uint8Array(new SharedArrayBuffer(40 * MIB))
      t.is(await s.openChunks(keys, source, into, [{ chunkId: chunk.id, at: 0, sealedBytes: chunk.envelope.length, to: 0, plainBytes: chunk.plainBytes }]), null)
      t.deepEqual(into.subarray(0, chunk.plainBytes), plain.subarray(0, chunk.plainBytes))
    }
    await Promise.all([open(), open()]) // one on each worker
  }
  await lend()
  collectGarbage()
  const held = process.memoryUsage().arrayBuffers - base
  t.true(held >= 80 * MIB, `${(held / MIB).toFixed(1)} MiB still held by the workers' views`)
  await s.collectGarbage()
  collectGarbage()
  const left = process.memoryUsage().arrayBuffers - base
  t.true(left < 4 * MIB, `${(left / MIB).toFixed(1)} MiB left`)
  // Closed while the workers collect, or before: it resolves all the same.
  const during = s.collectGarbage()
  await s.close()
  await t.notThrowsAsync(during)
  await t.notThrowsAsync(s.collectGarbage(), 'closed: nothing to collect')
})
