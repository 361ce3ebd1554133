import test, { type ExecutionContext } from 'ava'
import { join } from 'node:path'
import { writeFile } from 'node:fs/promises'
import type { ChunkSealer, SealedChunk } from '../../src/core/ports/chunk-sealer.js'
import { Chunker, gearTable, type ChunkSizes } from '../../src/core/chunking/index.js'
import { chunkIdOf, openChunk } from '../../src/core/crypto/index.js'
import { merkleRoot } from '../../src/core/audit/index.js'
import { allocateShared } from '../../src/core/pack/index.js'
import { sodium, sampleBytes, hex, tempDir } from '../helpers/index.js'

const idKey = new Uint8Array(32).fill(6)
const chunkKey = new Uint8Array(32).fill(7)
const keys = { idKey, gear: gearTable(sodium, idKey), chunkKey }
const SMALL: ChunkSizes = { minBytes: 64, avgBytes: 256, maxBytes: 1024 }

function reference(data: Uint8Array, sizes?: ChunkSizes): string[] {
  const out: string[] = []
  const c = new Chunker(keys.gear, sizes)
  const take = (x: Uint8Array) => out.push(`${x.length}:${hex(chunkIdOf(sodium, idKey, x))}`)
  c.push(data, take)
  c.finish(take)
  return out
}

/** Chunk lengths and ids, after checking that every envelope opens to a chunk with that id. */
function summary(chunks: SealedChunk[]): string[] {
  return chunks.map((c) => {
    const plain = openChunk(sodium, chunkKey, c.id, c.envelope)
    if (!plain || plain.length !== c.plainBytes || hex(chunkIdOf(sodium, idKey, plain)) !== hex(c.id)) throw new Error('envelope does not open to its chunk')
    return `${c.plainBytes}:${hex(c.id)}`
  })
}

/** The ChunkSealer contract (core/ports/chunk-sealer.ts); every implementation runs it. */
export function chunkSealerContract(label: string, make: (t: ExecutionContext) => Promise<ChunkSealer>, { localFiles = true } = {}) {
  test(`${label} › sealWhole equals the core chunker and ids; envelopes open`, async (t) => {
    const s = await make(t)
    for (const n of [0, 1, 5000, 9 * 1024 * 1024]) {
      const data = sampleBytes(n, n)
      t.deepEqual(summary(await s.sealWhole(keys, data.slice())), reference(data))
    }
    const small = sampleBytes(3, 50_000)
    t.deepEqual(summary(await s.sealWhole(keys, small.slice(), SMALL)), reference(small, SMALL))
  })

  test(`${label} › streams give the same chunks however input is split; many streams at once`, async (t) => {
    const s = await make(t)
    const data = sampleBytes(8, 11 * 1024 * 1024 + 17)
    const run = async (pieceBytes: number) => {
      const stream = s.open(keys)
      const out: SealedChunk[] = []
      for (let at = 0; at < data.length; at += pieceBytes) out.push(...(await stream.push(data.slice(at, at + pieceBytes))))
      out.push(...(await stream.finish()))
      return summary(out)
    }
    const expected = reference(data)
    for (const r of await Promise.all([run(4 * 1024 * 1024), run(1_000_003), run(64 * 1024)])) t.deepEqual(r, expected)
  })

  test(`${label} › merkleRoot equals the core's, on shared and plain memory`, async (t) => {
    const s = await make(t)
    const obj = sampleBytes(4, 100_000)
    const shared = allocateShared(obj.length)
    shared.set(obj)
    t.is(hex(await s.merkleRoot(shared)), hex(merkleRoot(sodium, obj)))
    t.is(hex(await s.merkleRoot(obj)), hex(merkleRoot(sodium, obj)))
    t.is(hex(shared), hex(obj), 'the object is not modified')
  })

  if (localFiles) {
    test(`${label} › sealLocalFile reads a file and reports its size after reading`, async (t) => {
      const s = await make(t)
      const dir = await tempDir(t)
      const data = sampleBytes(5, 700_000)
      await writeFile(join(dir, 'f.bin'), data)
      const got = await s.sealLocalFile(keys, join(dir, 'f.bin'))
      t.deepEqual(summary(got.chunks), reference(data))
      t.is(got.bytesRead, data.length)
      t.is(got.after.sizeBytes, data.length)
      await t.throwsAsync(s.sealLocalFile(keys, join(dir, 'missing')), { code: 'IO_FAILED' })
    })
  }

  test(`${label} › calls after close reject with CLOSED`, async (t) => {
    const s = await make(t)
    await s.close()
    await t.throwsAsync(s.sealWhole(keys, new Uint8Array(10)), { code: 'CLOSED' })
  })
}
