import test, { type ExecutionContext } from 'ava'
import { join } from 'node:path'
import { lstat, mkdir, readFile, readdir, symlink, writeFile, readlink } from 'node:fs/promises'
import { IngestService } from '../../src/app/ingest-service.js'
import { RestoreService } from '../../src/app/owner/restore-service.js'
import { ChunkFetcher } from '../../src/app/owner/chunk-fetcher.js'
import { PeerPool } from '../../src/app/owner/peer-pool.js'
import { SqliteIndexStore } from '../../src/adapters/sqlite/sqlite-index-store.js'
import { FsObjectStore } from '../../src/adapters/fs/fs-object-store.js'
import { FsSource } from '../../src/adapters/fs/fs-source.js'
import { FsRestoreTarget, type FsRestoreTargetOptions } from '../../src/adapters/fs/fs-restore-target.js'
import { nativeIngest, type NativeIngest } from '../../src/adapters/sodium/native-ingest.js'
import { SystemClock } from '../../src/adapters/system/system-clock.js'
import { WorkerChunkSealer } from '../../src/adapters/sodium/worker-chunk-sealer.js'
import { CircomlibPoseidon } from '../../src/adapters/snarkjs/circomlib-poseidon.js'
import { HttpsPeerClient } from '../../src/adapters/https-peer/https-peer-client.js'
import { JsonLogger } from '../../src/adapters/log/json-logger.js'
import { deriveShareKeys, ENVELOPE_OVERHEAD_BYTES } from '../../src/core/crypto/index.js'
import { MAX_CHUNK_BYTES } from '../../src/core/chunking/index.js'
import { identityFromSeed } from '../../src/core/identity.js'
import { asShareId, type PackId } from '../../src/core/ids.js'
import { BackupError } from '../../src/core/errors.js'
import type { ObjectStore } from '../../src/core/ports/object-store.js'
import type { RestoreFileWriter, RestoreTarget } from '../../src/core/ports/restore-target.js'
import { encodeRef, type ChunkRef } from '../../src/core/snapshot/index.js'
import { intercept, sodium, sampleBytes, tempDir } from '../helpers/index.js'
import { bytesEqual } from '../../src/shared/bytes.js'
import { writeTree } from '../helpers/tree.js'

const shareId = asShareId(new Uint8Array(16).fill(5))
const keys = deriveShareKeys(sodium, new Uint8Array(32).fill(5))
const clock = new SystemClock()
const poseidon = await CircomlibPoseidon.create()

/** Paths under `dir` that descriptors of this process still point to (tests run side by side, so
 * a count of open descriptors would say nothing). */
async function openUnder(dir: string): Promise<string[]> {
  const open = await Promise.all((await readdir('/proc/self/fd')).map((fd) => readlink(join('/proc/self/fd', fd)).catch(() => '')))
  return open.filter((p) => p.startsWith(dir))
}

/** The real target of a folder, each file's writer replaced by what `watch` makes of the real one. */
function watchedWrites(inner: FsRestoreTarget, watch: (real: RestoreFileWriter) => RestoreFileWriter): RestoreTarget {
  return {
    makeDir: (parts) => inner.makeDir(parts),
    symlink: (parts, to, mtimeMs) => inner.symlink(parts, to, mtimeMs),
    setDirMeta: (parts, mode, mtimeMs) => inner.setDirMeta(parts, mode, mtimeMs),
    createFile: async (parts, sizeBytes) => watch(await inner.createFile(parts, sizeBytes)),
  }
}

/** The owner side without peers: packs stay in the local spool, which the fetcher reads first. */
async function setup(t: ExecutionContext) {
  const dir = await tempDir(t)
  const index = new SqliteIndexStore(join(dir, 'index.sqlite'))
  await index.open()
  const spool = new FsObjectStore(join(dir, 'spool'))
  const sealer = new WorkerChunkSealer({ threads: 2 })
  t.teardown(async () => {
    await sealer.close()
    await spool.close()
    await index.close()
  })
  const ingest = new IngestService({ sodium, index, spool, clock, sealer })
  const log = new JsonLogger({ level: 'error' })
  const pool = new PeerPool({ index, connect: (url, o) => new HttpsPeerClient(url, { sodium, clock, ...o }), identity: identityFromSeed(sodium, sampleBytes(9, 32)), clock })
  // `reads`, when given, sees every range the fetcher reads from the spool (offset, length, and when
  // it lands); `fail` may make a read fail.
  const fetcher = (reads?: Array<{ offset: number; length: number; landed: boolean; id?: PackId }>, fail?: (offset: number, length: number) => Error | null) => {
    const seen: ObjectStore = {
      put: (id, bytes, opts) => spool.put(id, bytes, opts),
      get: (id) => spool.get(id),
      size: (id) => spool.size(id),
      has: (id) => spool.has(id),
      delete: (id) => spool.delete(id),
      list: () => spool.list(),
      getRange: async (id, offset, length, into) => {
        const read = { offset, length, landed: false, id }
        reads?.push(read)
        const err = fail?.(offset, length)
        if (err) throw err
        const bytes = await spool.getRange(id, offset, length, into)
        read.landed = true
        return bytes
      },
    }
    return new ChunkFetcher({ sodium, pool, poseidon, clock, log, spool: seen, prover: () => Promise.reject(new Error('no proofs without peers')) }, keys, () => [])
  }
  // `restore` opens chunks on this thread; `onThreads` on the sealer's worker threads (as a node
  // does), counting the calls in `openedOnThreads`.
  const counts = { openedOnThreads: 0 }
  const opener = intercept(sealer, (prop, real) => (prop === 'openChunks' ? (...a: Parameters<typeof real.openChunks>) => (counts.openedOnThreads++, real.openChunks(...a)) : undefined))
  return { dir, index, spool, ingest, fetcher, counts, sealer, restore: new RestoreService(sodium), onThreads: new RestoreService(sodium, opener) }
}

// Files are finished (mode, times, close, rename) by the native module in one step, or in four;
// large files are written by direct I/O, or through the page cache.
const native = nativeIngest() as NativeIngest
let wentDirect = 0
const finishings: Array<[string, FsRestoreTargetOptions]> = [
  ['finished natively', { finishFile: native.finishFile }],
  ['finished in four steps', {}],
  ['large files written direct', { finishFile: native.finishFile, writeAt: async (...a) => (wentDirect += await native.writeAt(...a), wentDirect) }],
  ['small files written whole', { finishFile: native.finishFile, writeAt: native.writeAt, writeFile: async (...a) => (wroteWhole.push(a[1]), native.writeFile(...a)) }],
]
/** Final paths of the files written whole, in order. */
const wroteWhole: string[] = []

for (const [how, targetOpts, threads] of [...finishings.map(([h, o]) => [h, o, false] as const), ['chunks opened on the sealer threads', finishings[3]?.[1] as FsRestoreTargetOptions, true] as const]) test(`a snapshot restores byte for byte with modes, mtimes, symlinks, empty files and folders (${how})`, async (t) => {
  const s = await setup(t)
  if (threads) s.restore = s.onThreads
  const src = join(s.dir, 'src')
  await writeTree(src, { 'a.txt': 'alpha', 'empty.bin': '', 'deep/er/x.bin': sampleBytes(1, 3_000_000), 'ünï/cödé.txt': 'ü', 'emptydir/': {} })
  await symlink('../a.txt', join(src, 'deep', 'link'))
  const { utimes, chmod } = await import('node:fs/promises')
  await chmod(join(src, 'a.txt'), 0o640)
  await utimes(join(src, 'a.txt'), 1_600_000_000, 1_600_000_000.5)
  const { content } = await s.ingest.snapshot(shareId, keys, new FsSource(src))
  t.is(content.fileCount, 4)
  const out = join(s.dir, 'out')
  const done = await s.restore.restore({ keys, root: content.root, paths: [], target: await FsRestoreTarget.open(out, targetOpts), fetcher: s.fetcher() })
  t.is(done.filesDone, 4)
  t.is(s.counts.openedOnThreads > 0, threads)
  t.deepEqual(await readFile(join(out, 'deep/er/x.bin')), Buffer.from(sampleBytes(1, 3_000_000)))
  if (targetOpts.writeAt) t.true(wentDirect >= 3_000_000 - 2 * 4096 * 3, 'the large file went past the page cache but for a block or two at the ends of each chunk')
  // The three small files (an empty one too) were written whole; the 3 MB one (several chunks) was not.
  if (targetOpts.writeFile) t.deepEqual(wroteWhole.filter((p) => p.startsWith(out + '/')).map((p) => p.slice(out.length + 1)).sort(), ['a.txt', 'empty.bin', 'ünï/cödé.txt'])
  t.is((await readFile(join(out, 'ünï/cödé.txt'), 'utf8')), 'ü')
  t.is((await lstat(join(out, 'empty.bin'))).size, 0)
  t.true((await lstat(join(out, 'emptydir'))).isDirectory())
  t.is(await readlink(join(out, 'deep', 'link')), '../a.txt')
  const a = await lstat(join(out, 'a.txt'))
  t.is(a.mode & 0o777, 0o640)
  t.is(Math.round(a.mtimeMs), 1_600_000_000_500)
  // One file of a folder, by path; an unknown path is NOT_FOUND.
  const one = join(s.dir, 'one')
  await s.restore.restore({ keys, root: content.root, paths: ['deep/er/x.bin'], target: await FsRestoreTarget.open(one, targetOpts), fetcher: s.fetcher() })
  t.deepEqual(await readdir(join(one, 'deep')), ['er'])
  await t.throwsAsync(s.restore.restore({ keys, root: content.root, paths: ['nope'], target: await FsRestoreTarget.open(join(s.dir, 'x')), fetcher: s.fetcher() }), { instanceOf: BackupError, code: 'NOT_FOUND' })
})

test('large files reach the direct write in shared memory (read in place, not copied), which is not reused before that write is done', async (t) => {
  const s = await setup(t)
  const src = join(s.dir, 'src')
  const data = sampleBytes(6, 12_000_000)
  await writeTree(src, { 'a.bin': data, 'b.bin': sampleBytes(7, 5_000_000) })
  const { content } = await s.ingest.snapshot(shareId, keys, new FsSource(src))
  const out = join(s.dir, 'out')
  const writes: Array<{ shared: boolean; unchanged: boolean }> = []
  const writeAt: NonNullable<FsRestoreTargetOptions['writeAt']> = async (fd, directFd, offset, bytes) => {
    const before = bytes.slice()
    // A slow disk: the restore goes on meanwhile, with other chunks in other buffers.
    await new Promise((r) => setTimeout(r, 30))
    const direct = await native.writeAt(fd, directFd, offset, bytes)
    writes.push({ shared: bytes.buffer instanceof SharedArrayBuffer, unchanged: Buffer.compare(before, bytes) === 0 })
    return direct
  }
  await s.restore.restore({ keys, root: content.root, paths: [], target: await FsRestoreTarget.open(out, { finishFile: native.finishFile, writeAt }), fetcher: s.fetcher() })
  t.true(writes.length >= 4)
  t.true(writes.every((w) => w.shared && w.unchanged))
  t.deepEqual(await readFile(join(out, 'a.bin')), Buffer.from(data))
  t.deepEqual(await readFile(join(out, 'b.bin')), Buffer.from(sampleBytes(7, 5_000_000)))
})

for (const [how, targetOpts] of finishings) test(`a file that cannot be finished (a folder in the way) fails with IO_FAILED, leaves no temp file and no open descriptor (${how})`, async (t) => {
  const s = await setup(t)
  const src = join(s.dir, 'src')
  // Large enough to be written direct where that is asked for (two descriptors to close).
  await writeTree(src, { 'f.bin': sampleBytes(4, 1_500_000) })
  const { content } = await s.ingest.snapshot(shareId, keys, new FsSource(src))
  const out = join(s.dir, 'out')
  await mkdir(join(out, 'f.bin', 'inside'), { recursive: true })
  await t.throwsAsync(s.restore.restore({ keys, root: content.root, paths: [], target: await FsRestoreTarget.open(out, targetOpts), fetcher: s.fetcher() }), { instanceOf: BackupError, code: 'IO_FAILED', message: /f\.bin/ })
  t.deepEqual(await readdir(out), ['f.bin'])
  t.deepEqual(await readdir(join(out, 'f.bin')), ['inside'])
  t.deepEqual(await openUnder(out), [])
})

test('small files are written whole, many at once (at most 16), each exact with its mode and time; one that cannot reach its name fails the restore with IO_FAILED and leaves no temp file', async (t) => {
  const s = await setup(t)
  const src = join(s.dir, 'src')
  const tree: Record<string, Uint8Array> = {}
  for (let i = 0; i < 300; i++) tree[`d${i % 3}/f${i}.txt`] = sampleBytes(100 + i, 1000 + i * 97)
  await writeTree(src, tree)
  const { utimes, chmod } = await import('node:fs/promises')
  await chmod(join(src, 'd1/f1.txt'), 0o604)
  await utimes(join(src, 'd1/f1.txt'), 1_500_000_000, 1_500_000_000.25)
  const { content } = await s.ingest.snapshot(shareId, keys, new FsSource(src))
  let inFlight = 0
  let most = 0
  const writeFile: NativeIngest['writeFile'] = async (...a) => {
    most = Math.max(most, ++inFlight)
    try {
      return await native.writeFile(...a)
    } finally {
      inFlight--
    }
  }
  const out = join(s.dir, 'out')
  const done = await s.restore.restore({ keys, root: content.root, paths: [], target: await FsRestoreTarget.open(out, { finishFile: native.finishFile, writeAt: native.writeAt, writeFile }), fetcher: s.fetcher() })
  t.is(done.filesDone, 300)
  t.is(done.bytesDone, Object.values(tree).reduce((n, b) => n + b.length, 0))
  for (const [path, bytes] of Object.entries(tree)) t.true(Buffer.from(bytes).equals(await readFile(join(out, path))), path)
  const f1 = await lstat(join(out, 'd1/f1.txt'))
  t.is(f1.mode & 0o777, 0o604)
  t.is(Math.round(f1.mtimeMs), 1_500_000_000_250)
  t.true(most > 1 && most <= 16, `${most} written at once`)
  t.deepEqual((await readdir(out, { recursive: true })).filter((n) => n.includes('.quloud-')), [])

  // A folder where one file must go: IO_FAILED naming it; the others are written, no temp file stays.
  const again = join(s.dir, 'again')
  await mkdir(join(again, 'd2', 'f2.txt', 'inside'), { recursive: true })
  await t.throwsAsync(s.restore.restore({ keys, root: content.root, paths: [], target: await FsRestoreTarget.open(again, { finishFile: native.finishFile, writeAt: native.writeAt, writeFile: native.writeFile }), fetcher: s.fetcher() }), { instanceOf: BackupError, code: 'IO_FAILED', message: /d2\/f2\.txt/ })
  t.deepEqual((await readdir(again, { recursive: true })).filter((n) => n.includes('.quloud-')), [])
  t.deepEqual(await readdir(join(again, 'd2', 'f2.txt')), ['inside'])
  t.deepEqual(await openUnder(again), [])

  // The bytes are taken when writeFile returns, in a folder made first or not: the caller reuses them at once.
  const direct = await FsRestoreTarget.open(join(s.dir, 'direct'), { writeFile: native.writeFile })
  const want = sampleBytes(9, 5000)
  const bytes = want.slice()
  const written = [direct.writeFile(['new', 'a.txt'], bytes, 0o644, 1_000)]
  bytes.fill(0)
  await written[0]
  bytes.set(want)
  written.push(direct.writeFile(['new', 'b.txt'], bytes, 0o644, 1_000))
  bytes.fill(0)
  await written[1]
  for (const name of ['a.txt', 'b.txt']) t.true(Buffer.from(want).equals(await readFile(join(s.dir, 'direct', 'new', name))), name)
})

test('folders are listed a level at a time, their manifests read in a few merged ranges: 120 folders in a handful of reads', async (t) => {
  const s = await setup(t)
  const src = join(s.dir, 'src')
  const tree: Record<string, string | Record<string, never>> = { 'top.txt': 'top' }
  for (let d = 0; d < 60; d++) {
    tree[`d${d}/f.txt`] = `file ${d}`
    tree[`d${d}/sub/g.txt`] = `deeper ${d}`
  }
  tree['d0/sub/empty/'] = {}
  await writeTree(src, tree)
  const { content } = await s.ingest.snapshot(shareId, keys, new FsSource(src))
  const reads: Array<{ offset: number; length: number; landed: boolean }> = []
  const out = join(s.dir, 'out')
  const done = await s.restore.restore({ keys, root: content.root, paths: [], target: await FsRestoreTarget.open(out), fetcher: s.fetcher(reads) })
  t.is(done.filesDone, 121)
  t.is(await readFile(join(out, 'd59', 'sub', 'g.txt'), 'utf8'), 'deeper 59')
  t.true((await lstat(join(out, 'd0', 'sub', 'empty'))).isDirectory())
  // The root, then one level of 60 folders, then 60 more, then one: a few ranges each, plus the files' data.
  t.true(reads.length <= 10, `${reads.length} reads (one per manifest would be 122)`)
})

test('a snapshot keeps its manifests\' chunks in the index (the next one only its own); a restore reads them there, not from the packs, and fetches one that does not hash to its id', async (t) => {
  const s = await setup(t)
  const src = join(s.dir, 'src')
  const tree: Record<string, string> = {}
  for (let d = 0; d < 20; d++) tree[`d${d}/sub/f.txt`] = `file ${d}`
  await writeTree(src, tree)
  await s.ingest.snapshot(shareId, keys, new FsSource(src))
  await writeFile(join(src, 'd3', 'sub', 'new.txt'), 'new')
  const { content } = await s.ingest.snapshot(shareId, keys, new FsSource(src))
  // Every chunk of the newest manifests is kept, and no other: the old d3, d3/sub and root are gone.
  const refs = s.index.listDirTrees(shareId).flatMap((d) => d.tree)
  t.is(refs.length, 41)
  for (const r of refs) t.truthy(s.index.getManifestChunk(shareId, r.chunkId))
  const overlaps = (reads: Array<{ offset: number; length: number; id?: PackId }>, r: ChunkRef) => reads.some((x) => x.id !== undefined && bytesEqual(x.id, r.packId) && x.offset < r.offsetBytes + r.sealedBytes && r.offsetBytes < x.offset + x.length)
  const restore = async (out: string, reads: Array<{ offset: number; length: number; landed: boolean; id?: PackId }>) => {
    const done = await s.restore.restore({ keys, root: content.root, paths: [], target: await FsRestoreTarget.open(join(s.dir, out)), fetcher: s.fetcher(reads), manifest: (id) => s.index.getManifestChunk(shareId, id) })
    t.is(done.filesDone, 21)
    t.is(await readFile(join(s.dir, out, 'd3', 'sub', 'new.txt'), 'utf8'), 'new')
    t.is(await readFile(join(s.dir, out, 'd19', 'sub', 'f.txt'), 'utf8'), 'file 19')
  }
  const reads: Array<{ offset: number; length: number; landed: boolean; id?: PackId }> = []
  await restore('out1', reads)
  t.true(reads.length > 0, 'the files\' data is read from the packs')
  t.false(refs.some((r) => overlaps(reads, r)), 'no manifest chunk is read from a pack')
  // A kept chunk that is not what its id says (here: the root's, replaced) is read from its pack.
  const root = content.root[0] as ChunkRef
  const kept = s.index.getManifestChunk(shareId, root.chunkId) as Uint8Array
  s.index.keepManifestChunks(shareId, refs.filter((r) => !bytesEqual(r.chunkId, root.chunkId)).map((r) => r.chunkId))
  s.index.putManifestChunks(shareId, [{ chunkId: root.chunkId, bytes: kept.map((b, i) => (i === 0 ? b ^ 1 : b)) }])
  const again: Array<{ offset: number; length: number; landed: boolean; id?: PackId }> = []
  await restore('out2', again)
  t.true(overlaps(again, root), 'the root manifest is read from its pack')
  t.true(again.filter((x) => refs.some((r) => overlaps([x], r))).every((x) => overlaps([x], root)), 'the others are not: only the range of the root (with what lies near it) is read')
})

test('a manifest naming "../" is refused with PATH_UNSAFE and nothing is written outside the target', async (t) => {
  const s = await setup(t)
  const data = await s.ingest.storeBlob(shareId, keys, new TextEncoder().encode('evil'))
  const refs = (r: ChunkRef[]) => r.map(encodeRef)
  // Hand-made manifests, chunked and encrypted with the share's keys like real ones.
  for (const name of ['../escaped.txt', '/abs.txt', 'a/../../b']) {
    const root = await s.ingest.storeBlob(shareId, keys, new TextEncoder().encode(JSON.stringify({ v: 1, entries: [{ n: name, t: 'f', m: 420, mt: 1, s: 4, c: refs(data) }] })))
    const out = join(s.dir, 'deep', 'target')
    await t.throwsAsync(s.restore.restore({ keys, root, paths: [], target: await FsRestoreTarget.open(out), fetcher: s.fetcher() }), { instanceOf: BackupError, code: 'PATH_UNSAFE' })
    t.deepEqual(await readdir(join(s.dir, 'deep')), ['target'])
    t.deepEqual(await readdir(out), [])
  }
})

test('a symlink in the target on the way to a file is refused with PATH_UNSAFE; the link target is untouched', async (t) => {
  const s = await setup(t)
  const src = join(s.dir, 'src')
  await writeTree(src, { 'sub/secret.txt': 'restored data' })
  const { content } = await s.ingest.snapshot(shareId, keys, new FsSource(src))
  const out = join(s.dir, 'out')
  const elsewhere = join(s.dir, 'elsewhere')
  await mkdir(out)
  await mkdir(elsewhere)
  await symlink(elsewhere, join(out, 'sub'))
  const err = await t.throwsAsync(s.restore.restore({ keys, root: content.root, paths: [], target: await FsRestoreTarget.open(out), fetcher: s.fetcher() }), { instanceOf: BackupError, code: 'PATH_UNSAFE' })
  t.regex(err?.message ?? '', /symbolic link/)
  t.deepEqual(await readdir(elsewhere), [])
})

test('a pack is read in ranges of at most 4 MiB (or one chunk), the next on its way while one is written; the file comes back exact', async (t) => {
  const s = await setup(t)
  const src = join(s.dir, 'src')
  const want = sampleBytes(3, 11_000_000)
  await writeTree(src, { 'big.bin': want, 'small.txt': 'small' })
  const { content } = await s.ingest.snapshot(shareId, keys, new FsSource(src))
  const reads: Array<{ offset: number; length: number; landed: boolean }> = []
  const out = join(s.dir, 'out')
  const done = await s.restore.restore({ keys, root: content.root, paths: ['big.bin'], target: await FsRestoreTarget.open(out, { writeAt: native.writeAt }), fetcher: s.fetcher(reads) })
  t.is(done.bytesDone, want.length)
  t.true(Buffer.from(want).equals(await readFile(join(out, 'big.bin'))))
  const data = reads.filter((r) => r.length > 100_000)
  t.true(data.length >= 3, `${data.length} ranges`)
  // A range of several chunks stays within 4 MiB; one chunk alone may be up to 4 MiB sealed.
  t.true(data.every((r) => r.length <= MAX_CHUNK_BYTES + ENVELOPE_OVERHEAD_BYTES), data.map((r) => r.length).join(' '))
  t.true(data.every((r) => r.landed))
})

test('a range that fails while the one before it is being written fails the restore with its error, and nothing is left open', async (t) => {
  const s = await setup(t)
  const src = join(s.dir, 'src')
  await writeTree(src, { 'f.bin': sampleBytes(5, 10_000_000) })
  const { content } = await s.ingest.snapshot(shareId, keys, new FsSource(src))
  const out = join(s.dir, 'out')
  // Writes take a while, so the second data range fails while the first is still being written.
  const target = watchedWrites(await FsRestoreTarget.open(out), (w) => ({ ...w, write: async (offset, bytes) => (await new Promise((r) => setTimeout(r, 100)), w.write(offset, bytes)) }))
  let dataRanges = 0
  const fail = (_offset: number, length: number) => (length > 1_000_000 && ++dataRanges === 2 ? new BackupError('IO_FAILED', 'the spool could not be read (test)') : null)
  // Unhandled even for a moment, the failure would end a node's process (Node's default).
  const unhandled: unknown[] = []
  const watch = (reason: unknown) => void (/could not be read \(test\)/.test(String((reason as Error)?.message)) && unhandled.push(reason))
  process.on('unhandledRejection', watch)
  t.teardown(() => void process.off('unhandledRejection', watch))
  await t.throwsAsync(s.restore.restore({ keys, root: content.root, paths: [], target, fetcher: s.fetcher(undefined, fail) }), { instanceOf: BackupError, code: 'IO_FAILED', message: /could not be read/ })
  t.is(dataRanges, 2)
  t.deepEqual(unhandled, [])
  t.deepEqual(await readdir(out), [])
  t.deepEqual(await openUnder(out), [])
})

for (const threads of [false, true]) test(`a flipped bit in a pack fails the restore with a coded error naming the object; no half file is left (chunks opened ${threads ? 'on the sealer threads' : 'on this thread'})`, async (t) => {
  const s = await setup(t)
  if (threads) s.restore = s.onThreads
  const src = join(s.dir, 'src')
  // Several ranges: the damage is found in a later one, with the next range possibly on its way.
  await writeTree(src, { 'f.bin': sampleBytes(2, 10_000_000) })
  const { content } = await s.ingest.snapshot(shareId, keys, new FsSource(src))
  const packs = s.index.listPacks(shareId)
  const dataPack = packs.find((p) => p.sizeBytes > 1_000_000)
  if (!dataPack) return t.fail('no data pack')
  const packHex = Buffer.from(dataPack.packId).toString('hex')
  const rel = (await readdir(join(s.dir, 'spool'), { recursive: true })).find((f) => f.endsWith(packHex)) as string
  const bytes = await readFile(join(s.dir, 'spool', rel))
  // The file's last chunk: its first chunk is written by then, so a half file is open.
  const chunks = s.index.listChunks(shareId).filter((c) => Buffer.from(c.packId).equals(dataPack.packId) && c.plainBytes > 100_000)
  t.true(chunks.length >= 2)
  const last = chunks.reduce((a, b) => (b.offsetBytes > a.offsetBytes ? b : a))
  const at = last.offsetBytes + Math.floor(last.sealedBytes / 2)
  bytes[at] = (bytes[at] as number) ^ 1
  await writeFile(join(s.dir, 'spool', rel), bytes)
  const out = join(s.dir, 'out')
  const err = await t.throwsAsync(s.restore.restore({ keys, root: content.root, paths: [], target: await FsRestoreTarget.open(out), fetcher: s.fetcher() }), { instanceOf: BackupError })
  t.true(['CHUNK_CORRUPT', 'OBJECT_CORRUPT'].includes(err?.code ?? ''))
  t.is(s.counts.openedOnThreads > 0, threads)
  t.true(err?.message.includes(packHex.slice(0, 8)), err?.message)
  t.deepEqual(await readdir(out), [])
  t.deepEqual(await openUnder(out), [], 'the half file was closed')
})

test('an opener that reports a chunk it was not given fails the restore as a bug (InvariantError), and no file is left', async (t) => {
  const s = await setup(t)
  const src = join(s.dir, 'src')
  await writeTree(src, { 'f.bin': sampleBytes(3, 3_000_000) })
  const { content } = await s.ingest.snapshot(shareId, keys, new FsSource(src))
  const opener = intercept(s.sealer, (prop, real) => (prop === 'openChunks' ? async (...a: Parameters<typeof real.openChunks>) => (await real.openChunks(...a), { index: a[3].length, reason: 'envelope' as const }) : undefined))
  const out = join(s.dir, 'out')
  await t.throwsAsync(new RestoreService(sodium, opener).restore({ keys, root: content.root, paths: [], target: await FsRestoreTarget.open(out), fetcher: s.fetcher() }), { name: 'InvariantError', message: /reported chunk (\d+) of the \1 it was given/ })
  t.deepEqual(await readdir(out), [])
})

test('a failing write fails the restore only after every write on its way has landed: no write reaches a file after it is aborted', async (t) => {
  const s = await setup(t)
  const src = join(s.dir, 'src')
  // Several packs, read at once, each with several chunk writes on their way.
  await writeTree(src, Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`f${i}.bin`, sampleBytes(40 + i, 4_000_000)])))
  const { content } = await s.ingest.snapshot(shareId, keys, new FsSource(src))
  t.true(s.index.listPacks(shareId).length >= 2)
  const out = join(s.dir, 'out')
  const events: string[] = []
  let writes = 0
  let onTheirWay = 0
  // The real target, its writes slowed down, and the fifteenth one failing.
  const target = watchedWrites(await FsRestoreTarget.open(out), (w) => ({
    write: async (offset, bytes) => {
      // It fails while another pack's write is on its way.
      if (++writes === 15) {
        while (onTheirWay === 0) await new Promise((r) => setTimeout(r, 1))
        throw new BackupError('IO_FAILED', 'the disk is full (test)')
      }
      onTheirWay++
      await new Promise((r) => setTimeout(r, 50))
      onTheirWay--
      events.push('write')
      await w.write(offset, bytes)
    },
    commit: (size, mode, mtimeMs) => w.commit(size, mode, mtimeMs),
    abort: async () => {
      events.push('abort')
      await w.abort()
    },
  }))
  await t.throwsAsync(s.restore.restore({ keys, root: content.root, paths: [], target, fetcher: s.fetcher() }), { instanceOf: BackupError, code: 'IO_FAILED' })
  while (onTheirWay > 0) await new Promise((r) => setTimeout(r, 5)) // (none, if the restore waited for them)
  t.true(events.includes('abort'))
  t.false(events.slice(events.indexOf('abort')).includes('write'), events.join(' '))
  t.deepEqual(await openUnder(out), [], 'no file left open')
  t.deepEqual((await readdir(out)).filter((n) => !n.startsWith('f')), [], 'no temporary file left')
})

test('a file that keeps changing while read is left out of the snapshot with its reason; its last good version stays', async (t) => {
  const s = await setup(t)
  const src = join(s.dir, 'src')
  await writeTree(src, { 'stable.txt': 'stable', 'busy.log': 'first version\n' })
  await s.ingest.snapshot(shareId, keys, new FsSource(src))
  const { appendFile } = await import('node:fs/promises')
  const fs = new FsSource(src)
  await appendFile(join(src, 'busy.log'), 'second\n')
  const busy = {
    walk: () => fs.walk(),
    stat: (p: string) => fs.stat(p),
    readLink: (p: string) => fs.readLink(p),
    async *read(p: string) {
      yield* fs.read(p)
      if (p === 'busy.log') await appendFile(join(src, 'busy.log'), 'more\n')
    },
  }
  const { content } = await s.ingest.snapshot(shareId, keys, busy)
  t.is(content.skipped.length, 1)
  t.is(content.skipped[0]?.path, 'busy.log')
  t.regex(content.skipped[0]?.reason ?? '', /FILE_CHANGED/)
  const out = join(s.dir, 'out')
  await s.restore.restore({ keys, root: content.root, paths: [], target: await FsRestoreTarget.open(out), fetcher: s.fetcher() })
  t.is(await readFile(join(out, 'busy.log'), 'utf8'), 'first version\n')
  t.is(await readFile(join(out, 'stable.txt'), 'utf8'), 'stable')
})

test('a free read slot goes to the ready pack earliest in the read order, not the first one ready: packs of a peer granted late are not queued behind all of another peer\'s', async (t) => {
  const s = await setup(t)
  const src = join(s.dir, 'src')
  const tree: Record<string, Uint8Array> = {}
  for (let i = 0; i < 24; i++) tree[`f${i}.bin`] = sampleBytes(40 + i, 700_000)
  await writeTree(src, tree)
  // Packs of about 1 MiB: a dozen of them.
  const { content } = await s.ingest.snapshot(shareId, keys, new FsSource(src), { packTargetBytes: 1024 * 1024 })
  // As if the packs at even places of the read order were at a peer whose grant came at once and
  // the others at a peer still proving: those become ready once the first data read has begun.
  const real = s.fetcher()
  let order: string[] = []
  let openGate = () => {}
  let readied = 0
  const gate = new Promise<void>((r) => (openGate = r))
  const started: number[] = []
  const fetcher = intercept(real, (prop) => {
    if (prop === 'interleave') return (ids: Parameters<typeof real.interleave>[0]) => {
      const out = real.interleave(ids)
      order = out.map((id) => Buffer.from(id).toString('hex'))
      return out
    }
    if (prop === 'ready') return async (id: Uint8Array) => {
      await real.ready(id as Parameters<typeof real.ready>[0])
      if (order.indexOf(Buffer.from(id).toString('hex')) % 2 === 1) await gate
      readied++
    }
    if (prop === 'range') return async (...a: Parameters<typeof real.range>) => {
      const rank = order.indexOf(Buffer.from(a[0]).toString('hex'))
      if (rank >= 0 && !started.includes(rank)) {
        started.push(rank)
        if (started.length === 3) {
          // Every slot is taken: the late packs become ready, and all the packs not started wait
          // for a slot before any is given back.
          openGate()
          while (readied < order.length) await new Promise((r) => setImmediate(r))
          await new Promise((r) => setImmediate(r))
        }
      }
      return real.range(...a)
    }
    return undefined
  })
  const out = join(s.dir, 'out')
  const done = await s.restore.restore({ keys, root: content.root, paths: [], target: await FsRestoreTarget.open(out), fetcher })
  t.is(done.filesDone, 24)
  for (let i = 0; i < 24; i++) t.true(Buffer.from(tree[`f${i}.bin`] as Uint8Array).equals(await readFile(join(out, `f${i}.bin`))))
  t.true(order.length >= 10, `${order.length} packs`)
  t.deepEqual([...started].sort((a, b) => a - b), order.map((_, i) => i), 'every pack read')
  // The three slots go to packs ready at once; after that, to the lowest place waiting.
  t.true(started.slice(0, 3).every((rank) => rank % 2 === 0), started.join(' '))
  t.deepEqual(started.slice(3), [...started.slice(3)].sort((a, b) => a - b), started.join(' '))
  // (Which three packs are ready first depends on when their spool lookups answer.)
  t.is(started[3], order.map((_, i) => i).find((i) => !started.slice(0, 3).includes(i)), 'the next slot goes to the earliest pack waiting')
  const lastEven = (order.length - 1) % 2 === 0 ? order.length - 1 : order.length - 2
  t.true(started.indexOf(1) < started.indexOf(lastEven), 'the late peer\'s first pack is read before the other peer\'s last')
})
