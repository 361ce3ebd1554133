import type { RestoreFileWriter, RestoreTarget } from '../../core/ports/restore-target.js'
import type { ChunkId, PackId } from '../../core/ids.js'
import { bytesEqual, concatBytes, toHex } from '../../shared/bytes.js'
import { ioFailed, notFound, invariant } from '../../core/errors.js'
import { decodeTree, splitSharePath, type ChunkRef, type FileEntry, type TreeEntry } from '../../core/snapshot/index.js'
import { openPackedChunk, packedChunkCorrupt } from '../../core/pack/index.js'
import { chunkIdOf, type ShareKeys } from '../../core/crypto/index.js'
import type { Sodium } from '../../core/ports/sodium.js'
import type { ChunkOpener, ChunkToOpen } from '../../core/ports/chunk-opener.js'
import { Semaphore } from '../../shared/semaphore.js'
import { BufferPool, type BufferPoolOptions } from '../../shared/buffer-pool.js'
import { MAX_CHUNK_BYTES } from '../../core/chunking/index.js'
import type { ChunkFetcher } from './chunk-fetcher.js'

/** Lets pending I/O callbacks run once this thread has been busy for a few milliseconds. */
const BUSY_MS = 4
function breather(): () => Promise<void> | void {
  let since = performance.now()
  return () => {
    if (performance.now() - since < BUSY_MS) return
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        since = performance.now()
        resolve()
      }),
    )
  }
}

/** A manifest chunk's plaintext kept locally (IndexStore.getManifestChunk), or null. */
export type LocalManifestChunk = (chunkId: ChunkId) => Uint8Array | null

/**
 * A locally kept manifest chunk, used only when it hashes to its id under the share's id key and
 * has its length; else null (the caller reads it from the peers), so a damaged or foreign row
 * cannot change what is listed or restored.
 */
export function checkedManifestChunk(sodium: Sodium, keys: Pick<ShareKeys, 'idKey'>, ref: ChunkRef, local: LocalManifestChunk | undefined): Uint8Array | null {
  const bytes = local?.(ref.chunkId)
  return bytes && bytes.length === ref.plainBytes && bytesEqual(chunkIdOf(sodium, keys.idKey, bytes), ref.chunkId) ? bytes : null
}

export interface RestoreProgress {
  filesDone: number
  filesTotal: number
  bytesDone: number
  bytesTotal: number
  packsDone: number
  packsTotal: number
}

/** Two chunk envelopes closer than this in a pack are fetched in one range... */
const MERGE_GAP_BYTES = 256 * 1024
/** ...unless the range would grow past this (a range holds at least one chunk, up to 4 MiB). */
const RANGE_MAX_BYTES = 4 * 1024 * 1024
const PACK_CONCURRENCY = 3
/** Small files written whole at once (each one trip to the target's I/O threads). */
const WHOLE_FILE_WRITES = 16
/** Folders of one level made at once (each a trip to the target's I/O threads). */
const DIRS_AT_ONCE = 64
/** Manifest ranges read at once while the folders to restore are listed... */
const TREE_CONCURRENCY = 8
/** ...and the folders of one level listed together (their manifests' chunks in merged ranges). */
const LEVEL_BATCH = 1024
/**
 * Fetched ranges (two per pack being read: the one written and the next, on its way) and opened
 * chunks (a range's worth, two per pack with an opener) go into reused memory, a pool for each: a
 * fresh buffer of megabytes per range and per chunk costs page faults and zeroing, and pushes the
 * garbage collector into full collections.
 */
const RANGE_BUFFERS: Readonly<BufferPoolOptions> = { maxIdle: 2 * PACK_CONCURRENCY, maxIdleBytes: 2 * PACK_CONCURRENCY * (RANGE_MAX_BYTES + MAX_CHUNK_BYTES), granule: 256 * 1024, idleMs: 30_000, shared: true }
/**
 * Ranges and opened chunks are shared memory. A ChunkOpener's threads open a range's chunks where
 * they are, and a large file's direct write (the native writeAt) reads them in place, where it
 * copies any other memory first, into fresh pages each time (a page fault per 4 KiB: about 0.5 s
 * of the restoring node's CPU per GiB here). Each write is awaited before its chunk's buffer goes
 * back to the pool; a small file written whole is copied (writeFile).
 */
const CHUNK_BUFFERS: Readonly<BufferPoolOptions> = { maxIdle: 2 * PACK_CONCURRENCY, maxIdleBytes: 2 * PACK_CONCURRENCY * (RANGE_MAX_BYTES + MAX_CHUNK_BYTES), granule: 256 * 1024, idleMs: 30_000, shared: true }

interface PlannedFile {
  parts: string[]
  entry: FileEntry
  remaining: number
  writer: Promise<RestoreFileWriter> | null
}

interface Use {
  file: PlannedFile
  offsetBytes: number
}

/** The chunks a restore needs from one pack, and where each goes. */
interface PackPlan {
  packId: PackId
  chunks: Map<string, { ref: ChunkRef; uses: Use[] }>
}

/**
 * Restores files, folders or a whole share from one snapshot into a target folder: reads the
 * manifests it needs (cost proportional to metadata), then fetches each pack's needed chunks in
 * merged byte ranges, a few packs at a time, authenticates every chunk against its id, and
 * writes files under temporary names until they are complete. Symlinks come last (nothing is
 * ever written through one) and folder times after their contents.
 */
export class RestoreService {
  /**
   * With an opener, the chunks of ranges read from peers are opened and checked on its threads
   * (the restoring node's main thread then only moves bytes: about 2 s less of it per GiB here).
   */
  constructor(
    private readonly sodium: Sodium,
    private readonly opener?: ChunkOpener,
  ) {}

  /** `manifest`: manifest chunks kept locally, read instead of fetched (see checkedManifestChunk). */
  async restore(o: { keys: ShareKeys; root: ChunkRef[]; paths: string[]; target: RestoreTarget; fetcher: ChunkFetcher; manifest?: LocalManifestChunk; onProgress?: (p: RestoreProgress) => void }): Promise<RestoreProgress> {
    const { fetcher, target } = o
    // Listing and planning a large share takes a while on this thread: the grants' nonces and
    // proofs (asked for early, see grantAhead) go on meanwhile, not after.
    const breathe = breather()
    const trees = new Semaphore(TREE_CONCURRENCY)
    /**
     * The manifests of many folders at once: their chunks grouped by pack and read in merged
     * ranges, a few at a time. A level of hundreds of folders costs a few requests, not one each:
     * over a network, listing a share is then bound by its bytes, not by round trips.
     */
    const readTrees = async (folders: ReadonlyArray<{ refs: ChunkRef[]; where: string }>): Promise<TreeEntry[][]> => {
      const keyOf = (r: ChunkRef) => `${toHex(r.packId)}:${r.offsetBytes}:${toHex(r.chunkId)}`
      const byPack = new Map<string, Map<string, { ref: ChunkRef }>>()
      const opened = new Map<string, Uint8Array>()
      const wanted: PackId[] = []
      for (const f of folders) {
        for (const ref of f.refs) {
          const local = checkedManifestChunk(this.sodium, o.keys, ref, o.manifest)
          if (local) {
            opened.set(keyOf(ref), local)
            continue
          }
          wanted.push(ref.packId)
          const packHex = toHex(ref.packId)
          const refs = byPack.get(packHex) ?? new Map<string, { ref: ChunkRef }>()
          byPack.set(packHex, refs)
          refs.set(keyOf(ref), { ref })
        }
      }
      fetcher.want(wanted)
      const reads: Promise<void>[] = []
      for (const refs of byPack.values()) {
        for (const group of mergeRanges([...refs.values()].sort((a, b) => a.ref.offsetBytes - b.ref.offsetBytes))) {
          reads.push(
            (async () => {
              const release = await trees.acquire()
              try {
                const { start, length } = spanOf(group)
                const bytes = await fetcher.range((group[0] as { ref: ChunkRef }).ref.packId, start, length)
                for (const { ref } of group) {
                  const envelope = bytes.subarray(ref.offsetBytes - start, ref.offsetBytes - start + ref.sealedBytes)
                  opened.set(keyOf(ref), openPackedChunk(this.sodium, o.keys, ref.packId, ref.chunkId, envelope))
                }
              } finally {
                release()
              }
            })(),
          )
        }
      }
      await settleAll(reads)
      const listed: TreeEntry[][] = []
      for (const f of folders) {
        await breathe()
        listed.push(decodeTree(concatBytes(f.refs.map((r) => opened.get(keyOf(r)) as Uint8Array)), f.where))
      }
      return listed
    }
    const readTree = async (refs: ChunkRef[], where: string) => (await readTrees([{ refs, where }]))[0] as TreeEntry[]
    const dirs: Array<{ parts: string[]; mode: number; mtimeMs: number }> = []
    const files: PlannedFile[] = []
    const links: Array<{ parts: string[]; target: string; mtimeMs: number }> = []
    // Folders are listed a level at a time, each level's manifests read together (readTrees).
    const collect = async (entries: TreeEntry[], at: string[]): Promise<void> => {
      let level = [{ entries, at }]
      while (level.length > 0) {
        const below: Array<{ refs: ChunkRef[]; where: string; parts: string[] }> = []
        for (const { entries: here, at: where } of level) {
          for (const e of here) {
            const parts = [...where, e.name]
            if (e.kind === 'file') files.push({ parts, entry: e, remaining: e.chunks.length, writer: null })
            else if (e.kind === 'symlink') links.push({ parts, target: e.target, mtimeMs: e.mtimeMs })
            else {
              dirs.push({ parts, mode: e.mode, mtimeMs: e.mtimeMs })
              below.push({ refs: e.tree, where: parts.join('/'), parts })
            }
          }
        }
        const next: typeof level = []
        for (let i = 0; i < below.length; i += LEVEL_BATCH) {
          const batch = below.slice(i, i + LEVEL_BATCH)
          const listed = await readTrees(batch)
          batch.forEach((b, k) => next.push({ entries: listed[k] as TreeEntry[], at: b.parts }))
        }
        level = next
      }
    }
    const rootEntries = await readTree(o.root, 'the root manifest')
    // A whole share needs the likely packs at every peer: their grants go on while folders are listed.
    if (o.paths.length === 0 || o.paths.some((p) => splitSharePath(p).length === 0)) fetcher.grantAhead()
    if (o.paths.length === 0) await collect(rootEntries, [])
    for (const path of o.paths) {
      const wanted = splitSharePath(path)
      if (wanted.length === 0) {
        await collect(rootEntries, [])
        continue
      }
      let entries = rootEntries
      for (let i = 0; i < wanted.length; i++) {
        const e = entries.find((x) => x.name === wanted[i])
        if (!e) throw notFound(`"${path}" in this snapshot`)
        const at = wanted.slice(0, i)
        if (i === wanted.length - 1) await collect([e], at)
        else if (e.kind !== 'dir') throw notFound(`"${path}" in this snapshot`)
        else {
          dirs.push({ parts: wanted.slice(0, i + 1), mode: e.mode, mtimeMs: e.mtimeMs })
          entries = await readTree(e.tree, wanted.slice(0, i + 1).join('/'))
        }
      }
    }

    // Plan: which chunk goes where, grouped by pack.
    const byPack = new Map<string, PackPlan>()
    const progress: RestoreProgress = { filesDone: 0, filesTotal: files.length, bytesDone: 0, bytesTotal: 0, packsDone: 0, packsTotal: 0 }
    for (const f of files) {
      await breathe()
      let offset = 0
      progress.bytesTotal += f.entry.sizeBytes
      for (const ref of f.entry.chunks) {
        const ph = toHex(ref.packId)
        let pack = byPack.get(ph)
        if (!pack) byPack.set(ph, (pack = { packId: ref.packId, chunks: new Map() }))
        const ch = toHex(ref.chunkId)
        const c = pack.chunks.get(ch) ?? { ref, uses: [] }
        c.uses.push({ file: f, offsetBytes: offset })
        pack.chunks.set(ch, c)
        offset += ref.plainBytes
      }
    }
    progress.packsTotal = byPack.size
    o.onProgress?.(progress)
    fetcher.want([...byPack.values()].map((p) => p.packId))

    // Folders a level at a time, each level's together (their parents are made by then).
    const levels: Array<Array<{ parts: string[] }>> = []
    for (const d of dirs) (levels[d.parts.length] ??= []).push(d)
    for (const level of levels) for (let i = 0; level && i < level.length; i += DIRS_AT_ONCE) await settleAll(level.slice(i, i + DIRS_AT_ONCE).map((d) => target.makeDir(d.parts)))
    const whole = new WholeFiles(target, progress)
    const open: PlannedFile[] = []
    const writerOf = (f: PlannedFile) => {
      if (!f.writer) {
        f.writer = target.createFile(f.parts, f.entry.sizeBytes)
        open.push(f)
      }
      return f.writer
    }
    const finishFile = async (f: PlannedFile) => {
      await (await writerOf(f)).commit(f.entry.sizeBytes, f.entry.mode, f.entry.mtimeMs)
      progress.filesDone++
    }
    const ranges = new BufferPool(RANGE_BUFFERS)
    const plains = new BufferPool(CHUNK_BUFFERS)
    try {
      for (const f of files) {
        if (f.remaining > 0) continue
        if (whole.takes(f)) await whole.start(f, EMPTY)
        else await finishFile(f)
      }
      const limit = new Semaphore(PACK_CONCURRENCY)
      // Packs of different peers alternate, so the packs read at once come from different peers:
      // a free slot goes to the ready pack earliest in this order, not to the first one ready
      // (the packs of the peer whose grant came first would otherwise all go before any other's).
      const packs = fetcher.interleave([...byPack.values()].map((p) => p.packId)).map((id) => byPack.get(toHex(id)) as PackPlan)
      // Every pack settles before a failure is thrown: open files are aborted only once no write
      // to them is on its way. Packs not started when one fails are skipped.
      let failed = false
      await settleAll(
        packs.map(async (pack, rank) => {
          // A pack whose peer is still proving holds no read slot meanwhile.
          await fetcher.ready(pack.packId)
          const release = await limit.acquire(rank)
          try {
            if (!failed) await this.#restorePack(pack, { keys: o.keys, fetcher, ranges, plains, whole, writerOf, finishFile, progress, ...(o.onProgress ? { onProgress: o.onProgress } : {}) })
          } catch (err) {
            failed = true
            throw err
          } finally {
            release()
          }
        }),
      )
      await whole.settle()
    } catch (err) {
      await whole.settle().catch(() => {})
      await Promise.allSettled(open.map(async (f) => (await f.writer)?.abort()))
      throw err
    } finally {
      ranges.clear()
      plains.clear()
    }
    invariant(files.every((f) => f.remaining === 0), 'a planned file was not completed')
    for (const l of links) await target.symlink(l.parts, l.target, l.mtimeMs)
    for (const d of [...dirs].sort((a, b) => b.parts.length - a.parts.length)) await target.setDirMeta(d.parts, d.mode, d.mtimeMs)
    o.onProgress?.(progress)
    return progress
  }

  /**
   * Reads one pack's needed chunks in ranges, each on its way (and, with an opener, opened) while
   * the one before it is written, and writes every chunk where its files need it.
   */
  async #restorePack(pack: PackPlan, c: PackContext): Promise<void> {
    const chunks = [...pack.chunks.values()].sort((a, b) => a.ref.offsetBytes - b.ref.offsetBytes)
    const groups = mergeRanges(chunks)
    // A group's range, fetched and, with an opener, opened on its threads: the next group gets
    // both done while this one is written. release() returns its memory.
    const land = async (group: typeof chunks): Promise<Landed> => {
      const { start, length } = spanOf(group)
      const buffer = c.ranges.take(length)
      let bytes: Uint8Array
      try {
        bytes = await c.fetcher.range(pack.packId, start, length, buffer.bytes)
      } catch (err) {
        buffer.release()
        throw err
      }
      if (!this.opener || !(bytes.buffer instanceof SharedArrayBuffer)) return { start, bytes, plains: null, release: buffer.release }
      try {
        return { start, bytes: EMPTY, ...(await this.#openOnThreads(this.opener, pack.packId, group, start, bytes, c)) }
      } finally {
        buffer.release() // opened (or not): the range is no longer needed
      }
    }
    // A failure of the group on its way is thrown where it is awaited (handled meanwhile: a
    // rejection left alone would end the process).
    const ask = (g: number) => {
      const group = groups[g]
      if (!group) return null
      const landed = land(group)
      landed.catch(() => {})
      return landed
    }
    let next = ask(0)
    try {
      for (let g = 0; next; g++) {
        const { start, bytes, plains, release } = await next
        const group = groups[g] as typeof chunks
        next = ask(g + 1)
        try {
          if (plains) for (let i = 0; i < group.length; i++) await this.#place(group[i] as (typeof chunks)[number], plains[i] as Uint8Array, c)
          else {
            for (const ch of group) {
              const env = bytes.subarray(ch.ref.offsetBytes - start, ch.ref.offsetBytes - start + ch.ref.sealedBytes)
              const out = c.plains.take(ch.ref.plainBytes)
              try {
                await this.#place(ch, openPackedChunk(this.sodium, c.keys, pack.packId, ch.ref.chunkId, env, out.bytes), c)
              } finally {
                out.release()
              }
            }
          }
        } finally {
          release()
        }
        c.onProgress?.(c.progress)
      }
    } finally {
      // A group still on its way when this pack failed: its memory returns when it lands.
      next?.then((r) => r.release(), () => {})
    }
    c.progress.packsDone++
    c.onProgress?.(c.progress)
  }

  /** A range's chunks, opened and checked together by the opener's threads into one buffer (release it). */
  async #openOnThreads(opener: ChunkOpener, packId: PackId, group: Array<{ ref: ChunkRef; uses: Use[] }>, start: number, bytes: Uint8Array, c: PackContext): Promise<{ plains: Uint8Array[]; release: () => void }> {
    let total = 0
    const chunks: ChunkToOpen[] = group.map(({ ref }) => {
      const spec = { chunkId: ref.chunkId, at: ref.offsetBytes - start, sealedBytes: ref.sealedBytes, to: total, plainBytes: ref.plainBytes }
      total += ref.plainBytes
      return spec
    })
    const out = c.plains.take(total)
    try {
      const failed = await opener.openChunks(c.keys, bytes, out.bytes, chunks)
      if (failed) {
        const spec = chunks[failed.index]
        invariant(spec !== undefined, `the opener reported chunk ${failed.index} of the ${chunks.length} it was given`)
        throw packedChunkCorrupt(packId, spec.chunkId)
      }
    } catch (err) {
      out.release()
      throw err
    }
    return { plains: chunks.map((spec) => out.bytes.subarray(spec.to, spec.to + spec.plainBytes)), release: out.release }
  }

  /** Writes one opened chunk wherever its files need it. */
  async #place(ch: { ref: ChunkRef; uses: Use[] }, plain: Uint8Array, c: PackContext): Promise<void> {
    for (const use of ch.uses) {
      // A small file in one chunk is written whole: the call takes its bytes at once.
      if (c.whole.takes(use.file)) {
        await c.whole.start(use.file, plain)
        continue
      }
      await (await c.writerOf(use.file)).write(use.offsetBytes, plain)
      c.progress.bytesDone += plain.length
      if (--use.file.remaining === 0) await c.finishFile(use.file)
    }
  }
}

/** A group's range as read; with an opener, its chunks opened too (in `plains`, in order). */
interface Landed {
  start: number
  /** The range while `plains` is null; empty once its chunks are opened (the range is released then). */
  bytes: Uint8Array
  plains: Uint8Array[] | null
  release: () => void
}

interface PackContext {
  keys: ShareKeys
  fetcher: ChunkFetcher
  ranges: BufferPool
  plains: BufferPool
  whole: WholeFiles
  writerOf: (f: PlannedFile) => Promise<RestoreFileWriter>
  finishFile: (f: PlannedFile) => Promise<void>
  progress: RestoreProgress
  onProgress?: (p: RestoreProgress) => void
}

const EMPTY = new Uint8Array(0)

/**
 * Small files written whole, several at once, each in one step of the target (RestoreTarget
 * writeFile) instead of create, write and commit one after another. A failure is thrown by the
 * next start() and by settle().
 */
class WholeFiles {
  readonly #limit = new Semaphore(WHOLE_FILE_WRITES)
  readonly #pending = new Set<Promise<void>>()
  readonly #max: number
  #failure: { err: unknown } | null = null

  constructor(
    private readonly target: RestoreTarget,
    private readonly progress: RestoreProgress,
  ) {
    this.#max = target.writeFile ? (target.wholeFileMaxBytes ?? 0) : -1
  }

  /** Whether `f` goes this way: at most one chunk, small enough, nothing written to it yet. */
  takes(f: PlannedFile): boolean {
    return f.writer === null && f.entry.chunks.length <= 1 && f.entry.sizeBytes <= this.#max
  }

  /** Starts writing all of `f`; `bytes` may be reused once this resolved. */
  async start(f: PlannedFile, bytes: Uint8Array): Promise<void> {
    if (this.#failure) throw this.#failure.err
    const size = bytes.length
    if (size !== f.entry.sizeBytes) throw ioFailed(`writing ${f.parts.join('/')}`, new Error(`wrote ${size} of ${f.entry.sizeBytes} bytes`))
    const release = await this.#limit.acquire()
    let written: Promise<void>
    try {
      written = (this.target.writeFile as NonNullable<RestoreTarget['writeFile']>)(f.parts, bytes, f.entry.mode, f.entry.mtimeMs)
    } catch (err) {
      release()
      throw err
    }
    f.remaining = 0
    const tracked: Promise<void> = written
      .then(
        () => {
          this.progress.bytesDone += size
          this.progress.filesDone++
        },
        (err: unknown) => {
          this.#failure ??= { err }
        },
      )
      .finally(() => {
        release()
        this.#pending.delete(tracked)
      })
    this.#pending.add(tracked)
  }

  /** Waits for every write started; throws the first failure. */
  async settle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending])
    if (this.#failure) throw this.#failure.err
  }
}

/** The bytes of a pack one merged group of chunks spans (a group of mergeRanges, never empty). */
function spanOf(group: ReadonlyArray<{ ref: ChunkRef }>): { start: number; length: number } {
  const start = (group[0] as { ref: ChunkRef }).ref.offsetBytes
  let end = start
  for (const { ref } of group) end = Math.max(end, ref.offsetBytes + ref.sealedBytes)
  return { start, length: end - start }
}

function mergeRanges<T extends { ref: ChunkRef }>(sorted: T[]): T[][] {
  const groups: T[][] = []
  for (const c of sorted) {
    const g = groups[groups.length - 1]
    const first = g?.[0]
    const prev = g?.[g.length - 1]
    const end = c.ref.offsetBytes + c.ref.sealedBytes
    if (g && first && prev && c.ref.offsetBytes - (prev.ref.offsetBytes + prev.ref.sealedBytes) <= MERGE_GAP_BYTES && end - first.ref.offsetBytes <= RANGE_MAX_BYTES) g.push(c)
    else groups.push([c])
  }
  return groups
}

/** Awaits every promise, then throws the first failure (none is left running or unhandled). */
async function settleAll(all: Promise<void>[]): Promise<void> {
  const failed = (await Promise.allSettled(all)).find((r) => r.status === 'rejected')
  if (failed) throw failed.reason
}
