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
