import test, { type ExecutionContext } from 'ava'
import { join } from 'node:path'
import { symlink, writeFile } from 'node:fs/promises'
import { execFileSync } from 'node:child_process'
import type { ChunkSealer, SealedChunk } from '../../src/core/ports/chunk-sealer.js'
import { Chunker, DEFAULT_CHUNK_SIZES, gearTable, type ChunkSizes } from '../../src/core/chunking/index.js'
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
    /** Seals a local file, checking each handed-over chunk while its envelope is valid. */
    const sealFile = async (s: ChunkSealer, path: string, consumer?: (chunks: SealedChunk[]) => void | Promise<void>) => {
      const got: string[] = []
      const read = await s.sealLocalFile(keys, path, DEFAULT_CHUNK_SIZES, (chunks) => {
        got.push(...summary(chunks))
        return consumer?.(chunks)
      })
      return { got, read }
    }

    test(`${label} › sealLocalFile reads a file, hands over its chunks in order and reports its size after reading`, async (t) => {
      const s = await make(t)
      const dir = await tempDir(t)
      for (const n of [0, 1, 700_000, 9 * 1024 * 1024 + 17]) {
        const data = sampleBytes(n + 5, n)
        await writeFile(join(dir, `f${n}.bin`), data)
        const { got, read } = await sealFile(s, join(dir, `f${n}.bin`))
        t.deepEqual(got, reference(data), `${n} bytes`)
        t.is(read.bytesRead, n)
        t.is(read.after.sizeBytes, n)
      }
      await t.throwsAsync(sealFile(s, join(dir, 'missing')), { code: 'IO_FAILED' })
      // Replaced since the walk saw a file: a symlink is not followed, a FIFO does not block.
      await symlink(join(dir, 'f1.bin'), join(dir, 'link'))
      await t.throwsAsync(sealFile(s, join(dir, 'link')), { code: 'IO_FAILED' })
      execFileSync('mkfifo', [join(dir, 'fifo')])
      await t.throwsAsync(sealFile(s, join(dir, 'fifo')), { code: 'IO_FAILED' })
    })

    test(`${label} › many local files at once through a slow consumer: every file whole and in order, a failure only fails its own file`, async (t) => {
      const s = await make(t)
      const dir = await tempDir(t)
      // More envelope bytes than a worker's slots hold, small files and large ones mixed.
      const sizes = [0, 10, 5000, 3 * 1024 * 1024, 300_000, 6 * 1024 * 1024 + 3, 1, 80_000, 4 * 1024 * 1024, 2_000_001, ...Array.from({ length: 30 }, (_, i) => 1000 + i * 7919)]
      const files = await Promise.all(sizes.map(async (n, i) => {
        const data = sampleBytes(100 + i, n)
        await writeFile(join(dir, `${i}.bin`), data)
        return { path: join(dir, `${i}.bin`), expected: reference(data) }
      }))
      const slow = () => new Promise<void>((resolve) => setTimeout(resolve, 3))
      const results = await Promise.all([
        ...files.map((f) => sealFile(s, f.path, slow).then((r) => r.got)),
        sealFile(s, join(dir, 'missing.bin'), slow).then(() => 'read', (err: { code?: string }) => err.code),
        sealFile(s, files[3]!.path, () => {
          throw new Error('consumer refused')
        }).then(() => 'read', (err: Error) => err.message),
        sealFile(s, files[5]!.path, () => Promise.reject(new Error('consumer gave up'))).then(() => 'read', (err: Error) => err.message),
      ])
      files.forEach((f, i) => t.deepEqual(results[i], f.expected, `file ${i}`))
      t.deepEqual(results.slice(files.length), ['IO_FAILED', 'consumer refused', 'consumer gave up'])
    })

    test(`${label} › a consumer holding chunks back can still have Merkle roots computed (no deadlock)`, async (t) => {
      const s = await make(t)
      const dir = await tempDir(t)
      const data = sampleBytes(9, 14 * 1024 * 1024)
      await writeFile(join(dir, 'big.bin'), data)
      const obj = sampleBytes(10, 50_000)
      let roots = 0
      const { got } = await sealFile(s, join(dir, 'big.bin'), async () => {
        t.is(hex(await s.merkleRoot(obj)), hex(merkleRoot(sodium, obj)))
        roots++
      })
      t.deepEqual(got, reference(data))
      t.true(roots >= 3)
    })
  }

  test(`${label} › calls after close reject with CLOSED`, async (t) => {
    const s = await make(t)
    await s.close()
    await t.throwsAsync(s.sealWhole(keys, new Uint8Array(10)), { code: 'CLOSED' })
  })
}
