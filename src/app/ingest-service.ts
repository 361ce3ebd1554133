import type { Sodium } from '../core/ports/sodium.js'
import type { ChunkLocation, FileRecord, IndexStore } from '../core/ports/index-store.js'
import type { ObjectStore } from '../core/ports/object-store.js'
import type { Clock } from '../core/ports/clock.js'
import type { SourceEntry, SourceFs } from '../core/ports/source-fs.js'
import type { ChunkId, ShareId } from '../core/ids.js'
import { BackupError, fileChanged, isBackupError, rethrowIfBug } from '../core/errors.js'
import type { ShareKeys } from '../core/crypto/index.js'
import { DEFAULT_CHUNK_SIZES, gearTable, type ChunkSizes } from '../core/chunking/index.js'
import type { ChunkSealer, SealingKeys, SealedChunk } from '../core/ports/chunk-sealer.js'
import { PackBuilder, PACK_TARGET_BYTES, allocateShared, type SealedPack } from '../core/pack/index.js'
import { toHex } from '../shared/bytes.js'
import { Semaphore } from '../shared/semaphore.js'

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
}

export const DEFAULT_READ_CONCURRENCY = 32
/** Files up to this size are read whole (in one piece); larger ones stream. */
const WHOLE_FILE_BYTES = 4 * 1024 * 1024
/** Sealed packs waiting for their write; bounds memory to about this many × 24 MiB. */
const MAX_PACKS_IN_FLIGHT = 2

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
  constructor(private readonly deps: IngestDeps) {}

  async ingest(shareId: ShareId, keys: ShareKeys, source: SourceFs, opts: IngestOptions = {}): Promise<IngestStats> {
    const run = new IngestRun(this.deps, shareId, keys, source, opts)
    return run.execute()
  }
}

interface PendingFile {
  record: FileRecord
  /** Sequence number of the last pack this file needs committed. */
  needsPack: number
}

class IngestRun {
  readonly stats: IngestStats = { filesSeen: 0, filesRead: 0, filesUnchanged: 0, filesSkipped: 0, bytesRead: 0, chunksNew: 0, chunksDeduped: 0, packsWritten: 0, packBytes: 0 }
  readonly #keys: SealingKeys
  readonly #builder: PackBuilder
  /** Chunks sealed or being sealed but not yet in the index: hex id → pack sequence. */
  readonly #pending = new Map<string, number>()
  #openSeq = 1
  #committedSeq = 0
  #waiting: PendingFile[] = []
  /** The share's file records as the run started. */
  readonly #known = new Map<string, FileRecord>()
  #commitChain: Promise<void> = Promise.resolve()
  #inFlight = 0
  #failure: unknown = null

  constructor(
    private readonly deps: IngestDeps,
    private readonly shareId: ShareId,
    private readonly keys: ShareKeys,
    private readonly source: SourceFs,
    private readonly opts: IngestOptions,
  ) {
    this.#keys = { idKey: keys.idKey, gear: gearTable(deps.sodium, keys.idKey), chunkKey: keys.chunkKey }
    this.#builder = new PackBuilder(deps.sodium, keys, { targetBytes: opts.packTargetBytes ?? PACK_TARGET_BYTES, allocate: allocateShared })
  }

  async execute(): Promise<IngestStats> {
    // One query for the whole share instead of one per file: the rescan of unchanged files is
    // mostly these comparisons.
    for (const f of this.deps.index.listFiles(this.shareId)) this.#known.set(f.path, f)
    const seen = new Set<string>()
    const limit = new Semaphore(this.opts.readConcurrency ?? DEFAULT_READ_CONCURRENCY)
    const tasks = new Set<Promise<void>>()
    let aborted: unknown = null
    for await (const entry of this.source.walk()) {
      if (aborted) break
      seen.add(entry.path)
      if (entry.kind !== 'file') continue
      this.stats.filesSeen++
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
    if (!aborted && this.#builder.chunkCount > 0) this.#seal()
    await this.#commitChain
    if (aborted) throw aborted
    if (this.#failure) throw this.#failure
    this.#flushWaiting()
    const { index } = this.deps
    index.transaction(() => {
      for (const path of this.#known.keys()) if (!seen.has(path)) index.deleteFile(this.shareId, path)
    })
    this.opts.onProgress?.(this.stats)
    return this.stats
  }

  async #file(entry: SourceEntry): Promise<void> {
    const known = this.#known.get(entry.path)
    if (known && sameFile(known, entry)) {
      this.stats.filesUnchanged++
      return
    }
    const attempts = this.opts.readAttempts ?? 2
    for (let attempt = 1; ; attempt++) {
      try {
        const pending = await this.#readFile(entry)
        // Recorded with the next pack commit (or at the end): one transaction per pack, not per file.
        if (pending) this.#waiting.push(pending)
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
        return
      }
    }
  }

  /** Reads and seals one file; returns its record once the file is known not to have changed. */
  async #readFile(entry: SourceEntry): Promise<PendingFile | null> {
    const chunkIds: ChunkId[] = []
    let needsPack = 0
    const take = (chunks: SealedChunk[]) => {
      for (const c of chunks) {
        const seq = this.#addChunk(c)
        chunkIds.push(c.id)
        if (seq > needsPack) needsPack = seq
      }
    }
    const sizes = this.opts.chunkSizes ?? DEFAULT_CHUNK_SIZES
    const { sealer } = this.deps
    let bytes = 0
    let after: { sizeBytes: number; mtimeMs: number }
    const local = this.source.localPath?.(entry.path)
    if (local && entry.sizeBytes <= WHOLE_FILE_BYTES) {
      // Small local files are read, chunked and sealed on a helper thread in one step.
      const sealed = await sealer.sealLocalFile(this.#keys, local, sizes)
      take(sealed.chunks)
      bytes = sealed.bytesRead
      after = sealed.after
    } else {
      const pieces = this.source.read(entry.path)[Symbol.asyncIterator]()
      const first = await pieces.next()
      if (!first.done) {
        bytes += first.value.length
        let next = await pieces.next()
        if (next.done) {
          take(await sealer.sealWhole(this.#keys, first.value, sizes))
        } else {
          const stream = sealer.open(this.#keys, sizes)
          take(await stream.push(first.value))
          while (!next.done) {
            bytes += next.value.length
            const pushed = stream.push(next.value)
            next = await pieces.next() // read the next piece while this one is sealed
            take(await pushed)
            await this.#backpressure()
          }
          take(await stream.finish())
        }
      }
      after = await this.source.stat(entry.path)
    }
    this.stats.bytesRead += bytes
    if (after.sizeBytes !== bytes || after.mtimeMs !== entry.mtimeMs || after.sizeBytes !== entry.sizeBytes) throw fileChanged(entry.path)
    const record: FileRecord = { shareId: this.shareId, path: entry.path, sizeBytes: bytes, mtimeMs: entry.mtimeMs, inode: entry.inode, mode: entry.mode, chunkIds }
    return { record, needsPack }
  }

  /** Adds one chunk unless known; returns the sequence of the pack that must be committed for it. */
  #addChunk(c: SealedChunk): number {
    const { index } = this.deps
    const hex = toHex(c.id)
    const pendingSeq = this.#pending.get(hex)
    if (pendingSeq !== undefined) {
      this.stats.chunksDeduped++
      return pendingSeq
    }
    if (index.findChunk(this.shareId, c.id)) {
      this.stats.chunksDeduped++
      return 0
    }
    const seq = this.#openSeq
    this.#builder.addSealed(c.id, c.envelope, c.plainBytes)
    this.#pending.set(hex, seq)
    this.stats.chunksNew++
    if (this.#builder.full) this.#seal()
    return seq
  }

  #seal(): void {
    const seq = this.#openSeq++
    const sealed = this.#builder.seal()
    this.#inFlight++
    this.#commitChain = this.#commitChain.then(() => this.#commit(sealed, seq)).catch((err) => {
      this.#failure ??= err
    }).finally(() => {
      this.#inFlight--
    })
  }

  async #commit(pack: SealedPack, seq: number): Promise<void> {
    if (this.#failure) return
    const { index, spool, clock, sealer } = this.deps
    const root = await sealer.merkleRoot(pack.bytes)
    await spool.put(pack.packId, pack.bytes)
    const locations: ChunkLocation[] = pack.entries.map((e) => ({ chunkId: e.chunkId, packId: pack.packId, offsetBytes: e.offsetBytes, sealedBytes: e.sealedBytes, plainBytes: e.plainBytes }))
    index.transaction(() => {
      index.addPack({ packId: pack.packId, shareId: this.shareId, sizeBytes: pack.bytes.length, merkleRoot: root, chunkCount: pack.entries.length, createdAtMs: clock.nowMs(), state: 'spooled' }, locations)
      this.#committedSeq = seq
      this.#flushWaiting()
    })
    for (const e of pack.entries) this.#pending.delete(toHex(e.chunkId))
    this.#builder.recycle(pack)
    this.stats.packsWritten++
    this.stats.packBytes += pack.bytes.length
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

  async #backpressure(): Promise<void> {
    while (this.#inFlight >= MAX_PACKS_IN_FLIGHT && !this.#failure) await this.#commitChain
    if (this.#failure) throw this.#failure
  }
}
