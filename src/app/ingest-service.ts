import type { Sodium } from '../core/ports/sodium.js'
import type { ChunkLocation, DirTreeRecord, FileRecord, IndexStore } from '../core/ports/index-store.js'
import type { ObjectStore } from '../core/ports/object-store.js'
import type { Clock } from '../core/ports/clock.js'
import type { SourceEntry, SourceFs } from '../core/ports/source-fs.js'
import type { ChunkId, PackId, ShareId } from '../core/ids.js'
import { BackupError, fileChanged, invariant, isBackupError, rethrowIfBug } from '../core/errors.js'
import type { ShareKeys } from '../core/crypto/index.js'
import { DEFAULT_CHUNK_SIZES, gearTable, type ChunkSizes } from '../core/chunking/index.js'
import type { ChunkSealer, SealingKeys, SealedChunk } from '../core/ports/chunk-sealer.js'
import { PackBuffers, PackBuilder, PACK_TARGET_BYTES, allocateShared, type CopyBytes, type SealedPack } from '../core/pack/index.js'
import { toHex } from '../shared/bytes.js'
import { encodeTree, type ChunkRef, type SkippedFile, type TreeEntry } from '../core/snapshot/index.js'
import { Semaphore } from '../shared/semaphore.js'
import { ByteSlab } from '../shared/byte-slab.js'

/** Decides, per failed file, whether the run goes on without it or stops. */
export type OnItemError = (path: string, err: BackupError) => 'skip' | 'abort'

export interface IngestStats {
  filesSeen: number
  filesRead: number
  filesUnchanged: number
  filesSkipped: number
  bytesRead: number
  chunksNew: number
  chunksDeduped: number
  packsWritten: number
  packBytes: number
}

export interface IngestOptions {
  onItemError?: OnItemError
  onProgress?: (stats: Readonly<IngestStats>) => void
  /** Told after each pack is in the spool and the index (it may be uploaded from then on). */
  onPackCommitted?: () => void
  chunkSizes?: ChunkSizes
  packTargetBytes?: number
  /** Files read at once: overlaps file-system latency for many small files. */
  readConcurrency?: number
  /** How often a file that keeps changing while read is tried. */
  readAttempts?: number
}

export interface IngestDeps {
  sodium: Sodium
  index: IndexStore
  /** Where sealed packs go: the local spool the replicator uploads from. */
  spool: ObjectStore
  clock: Clock
  /** Chunking, chunk ids, envelopes and Merkle roots; a worker pool in production. */
  sealer: ChunkSealer
  /** Copies sealed chunks into pack memory (default: TypedArray set). */
  copyBytes?: CopyBytes
  /**
   * Makes pack buffers (default: allocateShared). They must be shared memory (helper threads
   * hash packs in place); page-aligned ones let the spool write them past the page cache
   * without a bounce copy.
   */
  allocatePack?: (bytes: number) => Uint8Array
}

/** What a snapshot run produced: the root manifest's chunks and what it saw. */
export interface SnapshotContent {
  root: ChunkRef[]
  fileCount: number
  dirCount: number
  totalBytes: number
  skipped: SkippedFile[]
}

export const DEFAULT_READ_CONCURRENCY = 32
/**
 * Sealed packs whose memory is still being hashed (Merkle root) or written to the spool; with the
 * pack being filled, a run holds at most this many plus one pack buffers (#addAll). One is
 * enough: a pack's Merkle root and direct-I/O write (which returns once the bytes are on the
 * device) take far less time than filling the next pack. Measured: the owner's peak RSS in a
 * 1 GiB 3-copy backup 17 MB lower than with two, the backup 21-22 s against 20-21 s (run-to-run
 * noise is as large); bench:ingest ratio 1.56-1.61 against 1.81 last measured with two.
 */
export const MAX_PACKS_IN_FLIGHT = 1
/**
 * Packs written but not yet synced and committed. Each holds no memory of ours, and waiting for
 * fsync (about 0.2 s per pack here) would otherwise hold up the pack buffers.
 */
const MAX_PACKS_UNCOMMITTED = 8
/** Directory manifests sealed at once (those of one depth). */
const MANIFESTS_AT_ONCE = 32

const sameFile = (a: FileRecord, b: SourceEntry) => a.sizeBytes === b.sizeBytes && a.mtimeMs === b.mtimeMs && a.inode === b.inode

/**
 * The owner's ingest pipeline for one share: scan → FastCDC → chunk id → dedupe → encrypt →
 * pack → Merkle root → spool, with the index updated atomically per pack.
 *
 * Crash safety: a file's record is written only in the same transaction as (or after) the pack
 * holding its last new chunk, so after a crash the index never points at a chunk that is not in
 * the spool; an interrupted run simply reads the unrecorded files again.
 */
export class IngestService {
  /** Pack memory for every run: a run reuses the buffers of the runs before it. */
  readonly #buffers: PackBuffers

  constructor(private readonly deps: IngestDeps) {
    this.#buffers = new PackBuffers(deps.allocatePack ?? allocateShared, MAX_PACKS_IN_FLIGHT + 1)
  }

  /** Reads the share's files into packs and records them in the index (no manifests). */
  async ingest(shareId: ShareId, keys: ShareKeys, source: SourceFs, opts: IngestOptions = {}): Promise<IngestStats> {
    const run = new IngestRun(this.deps, this.#buffers, shareId, keys, source, opts)
    await run.files()
    return run.finish()
  }

  /**
   * A whole snapshot: the files as ingest() reads them, then the directory manifests (bottom up,
   * chunked and packed like data), all committed before it returns.
   */
  async snapshot(shareId: ShareId, keys: ShareKeys, source: SourceFs, opts: IngestOptions = {}): Promise<{ stats: IngestStats; content: SnapshotContent }> {
    const run = new IngestRun(this.deps, this.#buffers, shareId, keys, source, opts)
    await run.files()
    const content = await run.manifests()
    return { stats: await run.finish(), content }
  }

  /** Stores one blob (a catalog) as chunks in packs of the share; returns where they are. */
  async storeBlob(shareId: ShareId, keys: ShareKeys, bytes: Uint8Array): Promise<ChunkRef[]> {
    const run = new IngestRun(this.deps, this.#buffers, shareId, keys, null, {})
    const refs = await run.addBlob(bytes)
    await run.finish()
    return refs
  }
}

interface PendingFile {
  record: FileRecord
  /** Sequence number of the last pack this file needs committed. */
  needsPack: number
}

/** A file read in this run: its record, and where each of its chunks is (for its manifest). */
interface ReadFile extends PendingFile {
  refs: ChunkRef[]
}

interface Pending {
  seq: number
  ref: ChunkRef
}

const parentOf = (path: string) => {
  const at = path.lastIndexOf('/')
  return at < 0 ? '' : path.slice(0, at)
}
const baseName = (path: string) => path.slice(path.lastIndexOf('/') + 1)
const depthOf = (path: string) => (path === '' ? 0 : path.split('/').length)
const MAX_SKIPPED_LISTED = 100

class IngestRun {
  readonly stats: IngestStats = { filesSeen: 0, filesRead: 0, filesUnchanged: 0, filesSkipped: 0, bytesRead: 0, chunksNew: 0, chunksDeduped: 0, packsWritten: 0, packBytes: 0 }
  readonly #keys: SealingKeys
  readonly #builder: PackBuilder
  /** Chunks sealed or being sealed but not yet in the index: hex id → pack sequence and place. */
  readonly #pending = new Map<string, Pending>()
  /** Where this run's chunk ids are kept (one slab for thousands, not a buffer each). */
  readonly #ids = new ByteSlab()
  /** The share's files as this snapshot holds them: read now, unchanged, or the old version of a skipped one. */
  readonly #current = new Map<string, FileRecord>()
  /** Where the chunks of the files read in this run are, by path: their manifests need no lookup. */
  readonly #readRefs = new Map<string, ChunkRef[]>()
  readonly #dirs = new Map<string, SourceEntry>()
  /** Entries the walk found in each folder (by folder path; '' is the root). */
  readonly #entryCount = new Map<string, number>()
  /** Folders with an entry that is not an unchanged file or folder: their manifests are new. */
  readonly #changed = new Set<string>()
  /** The folder manifests last run wrote, and those this run writes once its packs are committed. */
  #oldTrees = new Map<string, DirTreeRecord>()
  readonly #newTrees: DirTreeRecord[] = []
  readonly #links: Array<SourceEntry & { target: string }> = []
  readonly #skipped: SkippedFile[] = []
  readonly #seen = new Set<string>()
  #openSeq = 1
  #committedSeq = 0
  #waiting: PendingFile[] = []
  /** The share's file records as the run started. */
  readonly #known = new Map<string, FileRecord>()
  #commitChain: Promise<void> = Promise.resolve()
  /** Sealed packs whose memory is still being hashed or written. */
  #inFlight = 0
  /** Sealed packs not yet in the index (their write may be syncing). */
  #uncommitted = 0
  #waiters: Array<() => void> = []
  #failure: unknown = null

  constructor(
    private readonly deps: IngestDeps,
    buffers: PackBuffers,
    private readonly shareId: ShareId,
    private readonly keys: ShareKeys,
    private readonly source: SourceFs | null,
    private readonly opts: IngestOptions,
  ) {
    this.#keys = { idKey: keys.idKey, gear: gearTable(deps.sodium, keys.idKey), chunkKey: keys.chunkKey }
    this.#builder = new PackBuilder(deps.sodium, keys, { targetBytes: opts.packTargetBytes ?? PACK_TARGET_BYTES, buffers, ...(deps.copyBytes ? { copy: deps.copyBytes } : {}) })
  }

  /** Phase 1: walks the source and reads every new or changed file into packs. */
  async files(): Promise<void> {
    const source = this.source
    invariant(source !== null, 'files() needs a source')
    // The walk starts first (FsSource lists the share on a worker thread) while the index is read.
    const walk = source.walk()[Symbol.asyncIterator]()
    const first = walk.next()
    first.catch(() => {}) // surfaces where it is awaited; not unhandled if the index fails first
    try {
      await this.#walkFiles(source, walk, first)
    } finally {
      await walk.return?.()
    }
  }

  async #walkFiles(source: SourceFs, walk: AsyncIterator<SourceEntry>, first: Promise<IteratorResult<SourceEntry>>): Promise<void> {
    const { index } = this.deps
    // One query for the whole share instead of one per file: the rescan of unchanged files is
    // mostly these comparisons.
    for (const f of index.listFiles(this.shareId)) this.#known.set(f.path, f)
    // Last run's folder manifests are forgotten before any file record changes: after a crash
    // mid-run they could describe files the index no longer holds. finish() writes this run's.
    this.#oldTrees = new Map(index.listDirTrees(this.shareId).map((d) => [d.path, d]))
    index.replaceDirTrees(this.shareId, [])
    const limit = new Semaphore(this.opts.readConcurrency ?? DEFAULT_READ_CONCURRENCY)
    const tasks = new Set<Promise<void>>()
    let aborted: unknown = null
    for (let step = await first; !step.done && !aborted; step = await walk.next()) {
      const entry = step.value
      this.#seen.add(entry.path)
      const parent = parentOf(entry.path)
      this.#entryCount.set(parent, (this.#entryCount.get(parent) ?? 0) + 1)
      if (entry.kind === 'symlink' || entry.kind === 'other') this.#changed.add(parent)
      if (entry.kind === 'dir') this.#dirs.set(entry.path, entry)
      if (entry.kind === 'symlink') {
        try {
          this.#links.push({ ...entry, target: await source.readLink(entry.path) })
        } catch (err) {
          rethrowIfBug(err)
          this.#skip(entry.path, err instanceof BackupError ? err.message : 'the link could not be read')
        }
      }
      if (entry.kind === 'other') this.#skip(entry.path, 'not a regular file, folder or symlink')
      if (entry.kind !== 'file') continue
      this.stats.filesSeen++
      if (this.#unchanged(entry)) continue
      this.#changed.add(parent)
      const release = await limit.acquire()
      const task = this.#file(entry)
        .catch((err) => {
          aborted ??= err
        })
        .finally(() => {
          release()
          tasks.delete(task)
        })
      tasks.add(task)
    }
    await Promise.all(tasks)
    if (aborted) {
      await this.#commitChain
      throw aborted
    }
  }

  /** A file whose size, mtime and inode are as recorded is not read again; a new mode is recorded. */
  #unchanged(entry: SourceEntry): boolean {
    const known = this.#known.get(entry.path)
    if (!known || !sameFile(known, entry)) return false
    this.stats.filesUnchanged++
    if (known.mode === entry.mode) {
      this.#current.set(entry.path, known)
      return true
    }
    const record = { ...known, mode: entry.mode }
    this.#current.set(entry.path, record)
    this.#waiting.push({ record, needsPack: 0 })
    this.#changed.add(parentOf(entry.path))
    return true
  }

  /**
   * Phase 2: the directory manifests, deepest folders first, each chunked and packed like data;
   * returns the root manifest's chunks. A folder whose manifest would be byte for byte last run's
   * reuses it (see #reusable); the others are encoded and sealed, those of one depth together.
   */
  async manifests(): Promise<SnapshotContent> {
    const dirs = ['', ...this.#dirs.keys()].sort((a, b) => depthOf(b) - depthOf(a))
    const reused = this.#reusable(dirs)
    const children = new Map<string, TreeEntry[]>()
    for (const dir of dirs) if (!reused.has(dir)) children.set(dir, [])
    const put = (path: string, e: TreeEntry) => {
      const parent = parentOf(path)
      if (reused.has(parent)) return
      const list = children.get(parent)
      invariant(list !== undefined, 'an entry whose folder was not walked')
      list.push(e)
    }
    let totalBytes = 0
    // Files read in this run know their chunks' places (#readRefs). For the others in a changed
    // folder, every committed chunk of the share in one read, not one query per chunk of each.
    let committed: Map<string, ChunkRef> | null = null
    const locate = (chunkId: ChunkId): ChunkRef => {
      const hex = toHex(chunkId)
      let ref = this.#pending.get(hex)?.ref
      if (!ref) {
        committed ??= new Map(this.deps.index.listChunks(this.shareId).map((loc) => [toHex(loc.chunkId), loc]))
        ref = committed.get(hex)
      }
      invariant(ref !== undefined, 'a recorded file names a chunk the index does not have')
      return ref
    }
    for (const f of this.#current.values()) {
      totalBytes += f.sizeBytes
      if (reused.has(parentOf(f.path))) continue
      put(f.path, { kind: 'file', name: baseName(f.path), mode: f.mode & 0o7777, mtimeMs: f.mtimeMs, sizeBytes: f.sizeBytes, chunks: this.#readRefs.get(f.path) ?? f.chunkIds.map(locate) })
    }
    committed = null
    for (const l of this.#links) put(l.path, { kind: 'symlink', name: baseName(l.path), mode: l.mode & 0o7777, mtimeMs: l.mtimeMs, target: l.target })
    const limit = new Semaphore(MANIFESTS_AT_ONCE)
    const seal = async (dir: string): Promise<ChunkRef[]> => {
      const old = reused.get(dir)
      if (old) return old
      const release = await limit.acquire()
      try {
        const doc = encodeTree(children.get(dir) ?? [])
        const kept = doc.slice() // the sealer may take doc's memory to its thread
        const refs = await this.addBlob(doc)
        this.#keepManifest(kept, refs)
        return refs
      } finally {
        release()
      }
    }
    const trees = new Map<string, ChunkRef[]>()
    for (let i = 0; i < dirs.length; ) {
      let j = i
      while (j < dirs.length && depthOf(dirs[j] as string) === depthOf(dirs[i] as string)) j++
      const level = dirs.slice(i, j)
      const sealed = await Promise.all(level.map(seal))
      level.forEach((dir, k) => {
        const tree = sealed[k] as ChunkRef[]
        trees.set(dir, tree)
        const d = this.#dirs.get(dir)
        const entries = reused.has(dir) ? (this.#oldTrees.get(dir) as DirTreeRecord).entries : (children.get(dir) as TreeEntry[]).length
        this.#newTrees.push({ path: dir, mode: d ? d.mode & 0o7777 : 0, mtimeMs: d?.mtimeMs ?? 0, entries, tree })
        if (d) put(dir, { kind: 'dir', name: baseName(dir), mode: d.mode & 0o7777, mtimeMs: d.mtimeMs, tree })
      })
      i = j
    }
    return { root: trees.get('') as ChunkRef[], fileCount: this.#current.size, dirCount: this.#dirs.size + 1, totalBytes, skipped: this.#skipped }
  }

  /**
   * The folders (deepest first in `dirs`) whose manifests last run's can stand for, with those
   * manifests' chunks. A folder qualifies when last run wrote its manifest, none of its entries
   * was read, skipped or is a symlink or special file this time (#changed), it holds as many
   * entries as then, and each sub-folder qualifies with the mode and mtime it had then. Every
   * input of its manifest is then what it was: the same file records, and chunk places never
   * change once recorded.
   */
  #reusable(dirs: readonly string[]): Map<string, ChunkRef[]> {
    const reused = new Map<string, ChunkRef[]>()
    for (const dir of dirs) {
      const old = this.#oldTrees.get(dir)
      const same = old !== undefined && !this.#changed.has(dir) && old.entries === (this.#entryCount.get(dir) ?? 0)
      if (same) reused.set(dir, old.tree)
      if (dir === '') continue
      const d = this.#dirs.get(dir) as SourceEntry
      if (!same || (d.mode & 0o7777) !== old.mode || d.mtimeMs !== old.mtimeMs) this.#changed.add(parentOf(dir))
    }
    return reused
  }

  /**
   * A new manifest's chunks, kept in the index by chunk id (their plaintext, as the restoring
   * node would open them): a restore or listing of this snapshot reads them there, not from peers.
   * Written now, not held until the run ends (a share of many folders has megabytes of them);
   * a run that fails leaves rows no manifest names, which the next run's finish() forgets.
   */
  #keepManifest(doc: Uint8Array, refs: readonly ChunkRef[]): void {
    let at = 0
    const chunks = refs.map((r) => {
      const bytes = doc.subarray(at, at + r.plainBytes)
      at += r.plainBytes
      return { chunkId: r.chunkId, bytes }
    })
    invariant(at === doc.length, 'a manifest\'s chunks do not add up to it')
    this.deps.index.putManifestChunks(this.shareId, chunks)
  }

  /** Chunks, seals and packs one in-memory document; returns its chunks' places. */
  async addBlob(bytes: Uint8Array): Promise<ChunkRef[]> {
    const sealed = await this.deps.sealer.sealWhole(this.#keys, bytes, this.opts.chunkSizes ?? DEFAULT_CHUNK_SIZES)
    const refs: ChunkRef[] = []
    await this.#addAll(sealed, (p) => refs.push(p.ref))
    await this.#backpressure()
    return refs
  }

  /** Last phase: seals the open pack, waits for every commit, records the files, forgets removed ones. */
  async finish(): Promise<IngestStats> {
    if (this.#builder.chunkCount > 0) this.#seal()
    await this.#commitChain
    if (this.#failure) throw this.#failure
    this.#flushWaiting()
    invariant(this.#waiting.length === 0, 'file records left waiting after the last commit')
    if (this.source) {
      const { index } = this.deps
      index.transaction(() => {
        for (const path of this.#known.keys()) if (!this.#seen.has(path)) index.deleteFile(this.shareId, path)
        // Every chunk these manifests name is committed now.
        index.replaceDirTrees(this.shareId, this.#newTrees)
        index.keepManifestChunks(this.shareId, this.#newTrees.flatMap((d) => d.tree.map((r) => r.chunkId)))
      })
    }
    this.opts.onProgress?.(this.stats)
    return this.stats
  }

  #skip(path: string, reason: string): void {
    if (this.#skipped.length < MAX_SKIPPED_LISTED) this.#skipped.push({ path, reason })
  }

  async #file(entry: SourceEntry): Promise<void> {
    const known = this.#known.get(entry.path)
    const attempts = this.opts.readAttempts ?? 2
    for (let attempt = 1; ; attempt++) {
      try {
        const read = await this.#readFile(entry)
        // Recorded with the next pack commit (or at the end): one transaction per pack, not per file.
        if (read) {
          this.#waiting.push({ record: read.record, needsPack: read.needsPack })
          this.#current.set(entry.path, read.record)
          this.#readRefs.set(entry.path, read.refs)
        }
        this.stats.filesRead++
        this.opts.onProgress?.(this.stats)
        return
      } catch (err) {
        rethrowIfBug(err)
        if (this.#failure) throw this.#failure // the spool or index failed: not this file's fault
        if (isBackupError(err, 'FILE_CHANGED') && attempt < attempts) continue
        const coded = err instanceof BackupError ? err : new BackupError('IO_FAILED', `reading ${entry.path} failed`, { cause: err })
        if ((this.opts.onItemError ?? (() => 'skip'))(entry.path, coded) === 'abort') throw coded
        this.stats.filesSkipped++
        // The snapshot keeps the version read last time, if any, and says this one was skipped.
        if (known) this.#current.set(entry.path, known)
        this.#skip(entry.path, coded.message)
        return
      }
    }
  }

  /** Reads and seals one file; returns its record once the file is known not to have changed. */
  async #readFile(entry: SourceEntry): Promise<ReadFile | null> {
    const refs: ChunkRef[] = []
    let needsPack = 0
    const take = (chunks: SealedChunk[]) =>
      this.#addAll(chunks, ({ seq, ref }) => {
        refs.push(ref)
        if (seq > needsPack) needsPack = seq
      })
    const sizes = this.opts.chunkSizes ?? DEFAULT_CHUNK_SIZES
    const { sealer } = this.deps
    let bytes = 0
    let after: { sizeBytes: number; mtimeMs: number }
    // Sealed packs wait for their Merkle root, spool write and commit; without this wait, fast
    // reads of small files pile up sealed 24 MiB packs in memory (measured: 17 at once).
    await this.#backpressure()
    const local = this.source?.localPath?.(entry.path)
    if (local) {
      // Local files are read, chunked and sealed on a helper thread; their envelopes are copied
      // into the pack as they come, and the helper waits while too many packs are in flight.
      const read = await sealer.sealLocalFile(this.#keys, local, sizes, (chunks) => take(chunks) ?? (this.#full ? this.#backpressure() : undefined), entry.sizeBytes)
      bytes = read.bytesRead
      after = read.after
    } else {
      const source = this.source as SourceFs
      const pieces = source.read(entry.path)[Symbol.asyncIterator]()
      const first = await pieces.next()
      if (!first.done) {
        bytes += first.value.length
        let next = await pieces.next()
        if (next.done) {
          await take(await sealer.sealWhole(this.#keys, first.value, sizes))
        } else {
          const stream = sealer.open(this.#keys, sizes)
          await take(await stream.push(first.value))
          while (!next.done) {
            bytes += next.value.length
            const pushed = stream.push(next.value)
            next = await pieces.next() // read the next piece while this one is sealed
            await take(await pushed)
            await this.#backpressure()
          }
          await take(await stream.finish())
        }
      }
      after = await source.stat(entry.path)
    }
    this.stats.bytesRead += bytes
    if (after.sizeBytes !== bytes || after.mtimeMs !== entry.mtimeMs || after.sizeBytes !== entry.sizeBytes) throw fileChanged(entry.path)
    // Both lists live until the run ends, one pair per file read, at their exact length (an array
    // grown by push keeps room for 17 elements: ~270 bytes of a one-chunk file's two lists).
    const kept = refs.slice()
    const record: FileRecord = { shareId: this.shareId, path: entry.path, sizeBytes: bytes, mtimeMs: entry.mtimeMs, inode: entry.inode, mode: entry.mode, chunkIds: kept.map((r) => r.chunkId) }
    return { record, needsPack, refs: kept }
  }

  /**
   * Adds chunks in order, telling `each` where each one went. A chunk that would start a new pack
   * while MAX_PACKS_IN_FLIGHT sealed packs are still in memory first waits for one of them to be
   * written: a run never holds more than MAX_PACKS_IN_FLIGHT + 1 pack buffers, however many
   * chunks arrive at once. Returns a promise only when it had to wait.
   */
  #addAll(chunks: readonly SealedChunk[], each: (added: Pending, chunk: SealedChunk) => void, from = 0): Promise<void> | undefined {
    for (let i = from; i < chunks.length; i++) {
      if (this.#builder.chunkCount === 0 && this.#full) return this.#backpressure().then(() => this.#addAll(chunks, each, i))
      const c = chunks[i] as SealedChunk
      each(this.#addChunk(c), c)
    }
    return undefined
  }

  /** Adds one chunk unless known; returns the pack sequence that must be committed for it, and its place. */
  #addChunk(c: SealedChunk): Pending {
    const { index } = this.deps
    const hex = toHex(c.id)
    const pending = this.#pending.get(hex)
    if (pending) {
      this.stats.chunksDeduped++
      return pending
    }
    const loc = index.findChunk(this.shareId, c.id)
    // Kept for the whole run (in its file's record and manifest refs): a slab copy, not c.id's own buffer.
    const id = this.#ids.copy(c.id) as ChunkId
    if (loc) {
      this.stats.chunksDeduped++
      return { seq: 0, ref: { chunkId: id, packId: loc.packId, offsetBytes: loc.offsetBytes, sealedBytes: loc.sealedBytes, plainBytes: loc.plainBytes } }
    }
    const seq = this.#openSeq
    const entry = this.#builder.addSealed(id, c.envelope, c.plainBytes)
    const added: Pending = { seq, ref: { chunkId: id, packId: this.#builder.packId as PackId, offsetBytes: entry.offsetBytes, sealedBytes: entry.sealedBytes, plainBytes: entry.plainBytes } }
    this.#pending.set(hex, added)
    this.stats.chunksNew++
    if (this.#builder.full) this.#seal()
    return added
  }

  #seal(): void {
    const seq = this.#openSeq++
    const sealed = this.#builder.seal()
    const sizeBytes = sealed.bytes.length
    this.#inFlight++
    this.#uncommitted++
    // A pack's Merkle root and spool write start at once, alongside those of the packs before it.
    // Its memory goes back to the builder as soon as both have read it (the write may still be
    // syncing); the index records packs strictly in order (#commit), each once durable.
    const { sealer, spool } = this.deps
    let written = () => {}
    const taken = new Promise<void>((resolve) => (written = resolve))
    const failed = this.#failure
    const root = failed ? Promise.reject(failed) : sealer.merkleRoot(sealed.bytes)
    const put = failed ? Promise.reject(failed) : spool.put(sealed.packId, sealed.bytes, { onWritten: written })
    const settled = () => {}
    void Promise.all([root.then(settled, settled), Promise.race([taken, put.then(settled, settled)])]).then(() => {
      this.#builder.recycle(sealed)
      this.#inFlight--
      this.#wake()
    })
    const stored = Promise.all([root, put]).then(([r]) => r)
    stored.catch(() => {}) // surfaces in #commit, in order
    this.#commitChain = this.#commitChain
      .then(() => this.#commit(sealed, sizeBytes, seq, stored))
      .catch((err) => {
        this.#failure ??= err
      })
      .finally(() => {
        this.#uncommitted--
        this.#wake()
      })
  }

  async #commit(pack: SealedPack, sizeBytes: number, seq: number, stored: Promise<Uint8Array>): Promise<void> {
    const root = await stored
    if (this.#failure) return
    const { index, clock } = this.deps
    const locations: ChunkLocation[] = pack.entries.map((e) => ({ chunkId: e.chunkId, packId: pack.packId, offsetBytes: e.offsetBytes, sealedBytes: e.sealedBytes, plainBytes: e.plainBytes }))
    index.transaction(() => {
      index.addPack({ packId: pack.packId, shareId: this.shareId, sizeBytes, merkleRoot: root, chunkCount: pack.entries.length, createdAtMs: clock.nowMs(), state: 'spooled' }, locations)
      this.#committedSeq = seq
      this.#flushWaiting()
    })
    for (const e of pack.entries) this.#pending.delete(toHex(e.chunkId))
    this.stats.packsWritten++
    this.stats.packBytes += sizeBytes
    this.opts.onPackCommitted?.()
  }

  /** Writes the records of files whose chunks are all committed. */
  #flushWaiting(): void {
    if (this.#waiting.length === 0) return
    const ready = this.#waiting.filter((w) => w.needsPack <= this.#committedSeq)
    if (ready.length === 0) return
    this.#waiting = this.#waiting.filter((w) => w.needsPack > this.#committedSeq)
    const { index } = this.deps
    index.transaction(() => {
      for (const w of ready) index.putFile(w.record)
    })
  }

  /** Too many pack buffers in use, or too many packs waiting to be synced and committed. */
  get #full(): boolean {
    return this.#inFlight >= MAX_PACKS_IN_FLIGHT || this.#uncommitted >= MAX_PACKS_UNCOMMITTED
  }

  #wake(): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const w of waiters) w()
  }

  async #backpressure(): Promise<void> {
    while (this.#full && !this.#failure) await new Promise<void>((resolve) => this.#waiters.push(resolve))
    if (this.#failure) throw this.#failure
  }
}
