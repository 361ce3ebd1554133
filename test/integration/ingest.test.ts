import test, { type ExecutionContext } from 'ava'
import { join } from 'node:path'
import { appendFile, chmod, mkdir, rm, rename, symlink, utimes, writeFile, readFile, readdir } from 'node:fs/promises'
import { IngestService, MAX_PACKS_IN_FLIGHT, type IngestOptions } from '../../src/app/ingest-service.js'
import { ChunkReader } from '../../src/app/chunk-reader.js'
import { SqliteIndexStore } from '../../src/adapters/sqlite/sqlite-index-store.js'
import { FsObjectStore } from '../../src/adapters/fs/fs-object-store.js'
import { FsSource } from '../../src/adapters/fs/fs-source.js'
import { SystemClock } from '../../src/adapters/system/system-clock.js'
import { WorkerChunkSealer } from '../../src/adapters/sodium/worker-chunk-sealer.js'
import { deriveShareKeys } from '../../src/core/crypto/index.js'
import { allocateShared, readPackIndex } from '../../src/core/pack/index.js'
import { MerkleTree } from '../../src/core/audit/index.js'
import { asShareId } from '../../src/core/ids.js'
import type { SourceFs } from '../../src/core/ports/source-fs.js'
import type { ObjectStore, PutOptions } from '../../src/core/ports/object-store.js'
import type { PackId } from '../../src/core/ids.js'
import { ioFailed } from '../../src/core/errors.js'
import { sodium, sampleBytes, tempDir } from '../helpers/index.js'
import { writeTree, readTree, digestTree } from '../helpers/tree.js'

const shareId = asShareId(new Uint8Array(16).fill(4))
const keys = deriveShareKeys(sodium, new Uint8Array(32).fill(4))
const SMALL_PACKS: IngestOptions = { packTargetBytes: 1024 * 1024 }

async function setup(t: ExecutionContext) {
  const dir = await tempDir(t)
  const index = new SqliteIndexStore(join(dir, 'index.sqlite'))
  await index.open()
  const spool = new FsObjectStore(join(dir, 'spool'))
  t.teardown(async () => {
    await index.close()
    await spool.close()
  })
  const sealer = new WorkerChunkSealer({ threads: 2 })
  t.teardown(() => sealer.close())
  const src = join(dir, 'share')
  const service = new IngestService({ sodium, index, spool, clock: new SystemClock(), sealer })
  const reader = new ChunkReader({ sodium, index, objects: spool }, shareId, keys)
  return { dir, src, index, spool, service, reader }
}

type Setup = Awaited<ReturnType<typeof setup>>

async function readBack(s: Setup): Promise<Record<string, Buffer>> {
  const out: Record<string, Buffer> = {}
  for (const f of s.index.listFiles(shareId)) {
    const parts: Uint8Array[] = []
    for await (const p of s.reader.readFile(f.chunkIds)) parts.push(p)
    out[f.path] = Buffer.concat(parts)
  }
  return out
}

test('ingest of a declared tree reads back byte for byte from the spool', async (t) => {
  const s = await setup(t)
  const big = sampleBytes(1, 9 * 1024 * 1024)
  await writeTree(s.src, {
    'docs/a.txt': 'hello',
    'docs/ünïcödé ✓.txt': 'unicode name',
    'empty.txt': '',
    'empty-dir/': {},
    'big.bin': big,
    'copy-of-big.bin': big,
    'nested/deep/x.bin': sampleBytes(2, 300_000),
  })
  const stats = await s.service.ingest(shareId, keys, new FsSource(s.src), SMALL_PACKS)
  t.is(stats.filesSeen, 6)
  t.is(stats.filesRead, 6)
  t.true(stats.chunksDeduped >= 5, `the copy of big.bin is deduplicated (${stats.chunksDeduped})`)
  t.deepEqual(digestTree(await readBack(s)), digestTree(await readTree(s.src)))
  // Every spooled pack is a valid object whose Merkle root is the one the index kept.
  for (const p of s.index.listPacks(shareId)) {
    const bytes = await s.spool.get(p.packId)
    t.is(readPackIndex(sodium, keys.packKey, p.packId, bytes).length, p.chunkCount)
    t.deepEqual(new MerkleTree(sodium, bytes).root, p.merkleRoot)
  }
})

test('a rescan reads nothing unchanged; modified, renamed and deleted files are tracked', async (t) => {
  const s = await setup(t)
  await writeTree(s.src, { 'a.txt': 'one', 'b.bin': sampleBytes(3, 600_000), 'c.txt': 'three', 'd.txt': 'four' })
  await s.service.ingest(shareId, keys, new FsSource(s.src), SMALL_PACKS)
  const packsBefore = s.index.listPacks(shareId).length
  const again = await s.service.ingest(shareId, keys, new FsSource(s.src), SMALL_PACKS)
  t.is(again.filesUnchanged, 4)
  t.is(again.filesRead, 0)
  t.is(s.index.listPacks(shareId).length, packsBefore)

  await appendFile(join(s.src, 'a.txt'), ' more')
  await rename(join(s.src, 'b.bin'), join(s.src, 'b-renamed.bin'))
  await rm(join(s.src, 'c.txt'))
  const third = await s.service.ingest(shareId, keys, new FsSource(s.src), SMALL_PACKS)
  t.is(third.filesRead, 2)
  t.is(third.chunksNew, 1, 'only the modified file has new content; the rename is deduplicated')
  t.deepEqual(digestTree(await readBack(s)), digestTree(await readTree(s.src)))
})

test('manifests of files read in the run need no chunk lookup: the share\'s chunk table is read only for unchanged files in a changed folder', async (t) => {
  const s = await setup(t)
  let tableReads = 0
  const listChunks = s.index.listChunks.bind(s.index)
  s.index.listChunks = (id) => (tableReads++, listChunks(id))
  await writeTree(s.src, { 'a/x.txt': sampleBytes(1, 3000), 'a/y.txt': sampleBytes(2, 5000), 'b/w.txt': 'w', 'dup.txt': sampleBytes(1, 3000) })
  const first = await s.service.snapshot(shareId, keys, new FsSource(s.src), SMALL_PACKS)
  t.is(tableReads, 0, 'a first snapshot knows every chunk\'s place')
  t.is(first.stats.chunksDeduped, 1)
  await writeFile(join(s.src, 'a/x.txt'), 'changed')
  const second = await s.service.snapshot(shareId, keys, new FsSource(s.src), SMALL_PACKS)
  t.is(tableReads, 1, 'a/y.txt was not read again: its chunks are looked up')
  t.is(second.stats.filesRead, 1)
  t.deepEqual(digestTree(await readBack(s)), digestTree(await readTree(s.src)))
})

test('a rescan reuses the manifests of unchanged folders, and after every kind of change gives the root a full run gives', async (t) => {
  const s = await setup(t)
  class CountingSealer extends WorkerChunkSealer {
    wholes = 0
    override sealWhole(...args: Parameters<WorkerChunkSealer['sealWhole']>) {
      this.wholes++
      return super.sealWhole(...args)
    }
  }
  const sealer = new CountingSealer({ threads: 1 })
  t.teardown(() => sealer.close())
  const service = new IngestService({ sodium, index: s.index, spool: s.spool, clock: new SystemClock(), sealer })
  await writeTree(s.src, { 'a/x.txt': 'x', 'a/y.txt': 'y', 'a/sub/z.txt': 'z', 'b/w.txt': 'w', 'top.txt': 'top', 'empty/': {} })
  const source = new FsSource(s.src)
  /** A run with last run's manifests, then one without them: both roots must be the same chunks. */
  const check = async (what: string, expectSeals?: number) => {
    sealer.wholes = 0
    const cached = await service.snapshot(shareId, keys, source, SMALL_PACKS)
    const seals = sealer.wholes
    if (expectSeals !== undefined) t.is(seals, expectSeals, `${what}: manifests sealed`)
    s.index.replaceDirTrees(shareId, [])
    sealer.wholes = 0
    const full = await service.snapshot(shareId, keys, source, SMALL_PACKS)
    t.is(sealer.wholes, full.content.dirCount, `${what}: a full run seals every manifest`)
    t.deepEqual(cached.content.root, full.content.root, what)
    t.is(cached.content.fileCount, full.content.fileCount, what)
    t.is(cached.content.totalBytes, full.content.totalBytes, what)
  }
  await check('first run')
  await check('nothing changed', 0)
  await chmod(join(s.src, 'a/sub/z.txt'), 0o600)
  await check('a file\'s mode', 3) // a/sub, a, the root
  t.is((s.index.getFile(shareId, 'a/sub/z.txt')?.mode ?? 0) & 0o777, 0o600, 'the new mode is recorded without reading the file')
  await chmod(join(s.src, 'a/sub'), 0o700)
  await check('a folder\'s mode', 2) // a, the root
  await utimes(join(s.src, 'b'), new Date(1_600_000_000_000), new Date(1_600_000_000_000))
  await check('a folder\'s mtime', 1)
  await writeTree(s.src, { 'c/new/deep.txt': 'deep' })
  await check('a new folder', 3)
  await rm(join(s.src, 'a/y.txt'))
  await check('a deleted file', 2)
  await rename(join(s.src, 'b/w.txt'), join(s.src, 'b/w2.txt'))
  await check('a renamed file', 2)
  await appendFile(join(s.src, 'a/sub/z.txt'), ' more')
  await check('a modified file', 3)
  await mkdir(join(s.src, 'links'))
  await symlink('a/x.txt', join(s.src, 'links/l'))
  await check('a symlink')
  await rm(join(s.src, 'links/l'))
  await symlink('top.txt', join(s.src, 'links/l'))
  await check('a symlink with another target')
  await rm(join(s.src, 'empty'), { recursive: true })
  await writeFile(join(s.src, 'empty'), 'now a file')
  await check('a folder replaced by a file')
})

/**
 * A spool that takes the bytes at once (onWritten) but becomes durable later, packs finishing out
 * of order, and whose put number `failAt` fails after taking the bytes.
 */
class SlowSyncSpool implements ObjectStore {
  puts = 0
  constructor(readonly inner: FsObjectStore, readonly failAt = 0) {}
  async put(id: PackId, bytes: Uint8Array, opts: PutOptions = {}): Promise<void> {
    const n = ++this.puts
    if (n !== this.failAt) await this.inner.put(id, bytes)
    opts.onWritten?.() // the ingest may now reuse the pack's memory
    await new Promise((r) => setTimeout(r, n % 3 === 0 ? 80 : 5))
    if (n === this.failAt) throw ioFailed('syncing a pack', new Error('No space left on device'))
  }
  get = (id: PackId) => this.inner.get(id)
  getRange = (id: PackId, offset: number, length: number, into?: Uint8Array) => this.inner.getRange(id, offset, length, into)
  size = (id: PackId) => this.inner.size(id)
  has = (id: PackId) => this.inner.has(id)
  delete = (id: PackId) => this.inner.delete(id)
  list = () => this.inner.list()
}

test('pack memory is reused while earlier packs are still syncing: every pack is whole, the index records only durable packs', async (t) => {
  const s = await setup(t)
  await writeTree(s.src, Object.fromEntries(Array.from({ length: 24 }, (_, i) => [`f${i}.bin`, sampleBytes(40 + i, 700_000 + i * 1000)])))
  const sealer = new WorkerChunkSealer({ threads: 2 })
  t.teardown(() => sealer.close())
  const spool = new SlowSyncSpool(s.spool)
  const service = new IngestService({ sodium, index: s.index, spool, clock: new SystemClock(), sealer })
  const stats = await service.ingest(shareId, keys, new FsSource(s.src), SMALL_PACKS)
  t.true(stats.packsWritten >= 12, `${stats.packsWritten} packs`)
  t.deepEqual(digestTree(await readBack(s)), digestTree(await readTree(s.src)))
  for (const p of s.index.listPacks(shareId)) {
    const bytes = await s.spool.get(p.packId)
    t.is(readPackIndex(sodium, keys.packKey, p.packId, bytes).length, p.chunkCount)
    t.deepEqual(new MerkleTree(sodium, bytes).root, p.merkleRoot)
  }

  // A pack that fails to sync after its bytes were taken stops the run; neither it nor any
  // later pack is in the index, and every recorded file is readable.
  const t2 = await setup(t)
  await writeTree(t2.src, Object.fromEntries(Array.from({ length: 24 }, (_, i) => [`f${i}.bin`, sampleBytes(80 + i, 700_000)])))
  const failing = new SlowSyncSpool(t2.spool, 5)
  const service2 = new IngestService({ sodium, index: t2.index, spool: failing, clock: new SystemClock(), sealer })
  await t.throwsAsync(service2.ingest(shareId, keys, new FsSource(t2.src), SMALL_PACKS), { message: /No space left|syncing a pack/ })
  const packs = t2.index.listPacks(shareId)
  t.true(packs.length <= 4, `${packs.length} packs recorded`)
  for (const p of packs) t.true(await t2.spool.has(p.packId))
  const files = await readBack(t2)
  for (const [path, bytes] of Object.entries(files)) t.deepEqual(bytes, await readFile(join(t2.src, path)), path)
})

test('pack memory is bounded however fast chunks come: at most MAX_PACKS_IN_FLIGHT + 1 buffers, reused by the next run', async (t) => {
  const s = await setup(t)
  // Many packs' worth of chunks arrive in each batch from the seal workers (1 MiB packs, 4 MiB
  // batches), while the spool holds each pack's bytes for a while before taking them.
  await writeTree(s.src, Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`a/f${i}.bin`, sampleBytes(200 + i, 700_000)])))
  await writeTree(join(s.dir, 'second'), Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`g${i}.bin`, sampleBytes(300 + i, 700_000)])))
  let held = 0
  let mostHeld = 0
  const slow: ObjectStore = {
    put: async (id, bytes, opts = {}) => {
      mostHeld = Math.max(mostHeld, ++held)
      await new Promise((r) => setTimeout(r, 15))
      try {
        await s.spool.put(id, bytes, { onWritten: () => (held--, opts.onWritten?.()) })
      } catch (err) {
        held--
        throw err
      }
    },
    get: (id) => s.spool.get(id),
    getRange: (id, offset, length, into) => s.spool.getRange(id, offset, length, into),
    size: (id) => s.spool.size(id),
    has: (id) => s.spool.has(id),
    delete: (id) => s.spool.delete(id),
    list: () => s.spool.list(),
  }
  let allocated = 0
  const sealer = new WorkerChunkSealer({ threads: 2 })
  t.teardown(() => sealer.close())
  const service = new IngestService({ sodium, index: s.index, spool: slow, clock: new SystemClock(), sealer, allocatePack: (n) => (allocated++, allocateShared(n)) })
  const stats = await service.ingest(shareId, keys, new FsSource(s.src), SMALL_PACKS)
  t.true(stats.packsWritten >= 15, `${stats.packsWritten} packs`)
  t.true(mostHeld <= MAX_PACKS_IN_FLIGHT, `${mostHeld} packs held by the spool at once`)
  t.true(allocated <= MAX_PACKS_IN_FLIGHT + 1, `${allocated} pack buffers made`)
  t.deepEqual(digestTree(await readBack(s)), digestTree(await readTree(s.src)))
  const before = allocated
  const other = asShareId(new Uint8Array(16).fill(9))
  const second = await service.ingest(other, keys, new FsSource(join(s.dir, 'second')), SMALL_PACKS)
  t.true(second.packsWritten >= 5)
  t.is(allocated, before, 'the second run built its packs in the first run\'s buffers')
})

test('a file that keeps changing while read is skipped with FILE_CHANGED; others are stored', async (t) => {
  const s = await setup(t)
  await writeTree(s.src, { 'stable.txt': 'stable', 'busy.log': 'line\n' })
  const fs = new FsSource(s.src)
  // A real writer appends to busy.log every time it has just been read.
  const busy: SourceFs = {
    walk: () => fs.walk(),
    stat: (p) => fs.stat(p),
    readLink: (p) => fs.readLink(p),
    async *read(p) {
      yield* fs.read(p)
      if (p === 'busy.log') await appendFile(join(s.src, 'busy.log'), 'another line\n')
    },
  }
  const errors: string[] = []
  const stats = await s.service.ingest(shareId, keys, busy, {
    onItemError: (path, err) => {
      errors.push(`${path}:${err.code}`)
      return 'skip'
    },
  })
  t.deepEqual(errors, ['busy.log:FILE_CHANGED'])
  t.is(stats.filesSkipped, 1)
  t.deepEqual(s.index.listFiles(shareId).map((f) => f.path), ['stable.txt'])
  // 'abort' stops the run with the same code.
  await t.throwsAsync(s.service.ingest(shareId, keys, busy, { onItemError: () => 'abort' }), { code: 'FILE_CHANGED' })
})

test('the spool holds no plaintext of a marked corpus', async (t) => {
  const s = await setup(t)
  const marker = 'QULOUD-MARKER-7f3a9c'
  await writeTree(s.src, { 'm1.txt': `${marker} `.repeat(5000), 'm2.txt': marker, dir: { 'm3.txt': `x${marker}x` } })
  await s.service.ingest(shareId, keys, new FsSource(s.src))
  const files: string[] = []
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(d, e.name))
      else files.push(join(d, e.name))
    }
  }
  await walk(join(s.dir, 'spool'))
  t.true(files.length > 0)
  for (const f of files) t.false((await readFile(f)).includes(marker), f)
  await writeFile(join(s.dir, 'probe'), marker)
  t.true((await readFile(join(s.dir, 'probe'))).includes(marker), 'the scan itself can find the marker')
})
