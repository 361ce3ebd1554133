import { Worker } from 'node:worker_threads'
import { availableParallelism } from 'node:os'
import type { ChunkSealer, OnSealedChunks, SealStream, SealingKeys, SealedChunk, LocalFileRead } from '../../core/ports/chunk-sealer.js'
import type { ChunkOpener, ChunkToOpen, OpenFailure } from '../../core/ports/chunk-opener.js'
import { DEFAULT_CHUNK_SIZES, MAX_CHUNK_BYTES, type ChunkSizes } from '../../core/chunking/index.js'
import { asChunkId } from '../../core/ids.js'
import { nativeIngest } from './native-ingest.js'
import { RECORD_CHUNK, RECORD_FILE_FAILED, RECORD_NUMBERS } from './seal-records.js'
import { closed, inputInvalid, InvariantError, ioFailed } from '../../core/errors.js'

interface Pending {
  resolve: (msg: any) => void
  reject: (err: Error) => void
  /** Parts of a `files` reply before the final one. */
  onPart?: (msg: any) => void
  slot: Slot
  weight: number
}

interface Slot {
  worker: Worker
  /** Requests waiting for this worker (it stays referenced while any do). */
  requests: number
  /** Roughly the megabytes of work queued on it: requests go to the least-loaded worker. */
  load: number
  /** Its envelope slots (seal-worker.ts `files`). */
  envelopes: Uint8Array[]
}

interface FileItem {
  path: string
  onChunks: OnSealedChunks
  resolve: (f: LocalFileRead) => void
  reject: (e: Error) => void
  settled: boolean
  /** Its consumer's promises not yet settled: the file is done only after them. */
  held: Array<Promise<void>>
}

// Node 20 workers do not inherit the parent's tsx loader: from source, a small .mjs entry
// registers it first.
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './seal-worker-boot.mjs' : './seal-worker.js', import.meta.url)

/** Files per message to a worker, and the bytes after which a batch is sent whatever its count. */
const FILE_BATCH = 16
const FILE_BATCH_BYTES = 8 * 1024 * 1024
/**
 * Envelope slots per worker and their size: one largest chunk's envelope fits in a slot. Two
 * keep a worker sealing while the main thread copies the other into a pack (bench:ingest: ratio
 * 1.56-1.61 with two as with three, on the same run-to-run noise; four were no faster than three;
 * each slot is 4 MiB of the owner's memory).
 */
const SLOTS_PER_WORKER = 2
const SLOT_BYTES = MAX_CHUNK_BYTES + 64 * 1024

function decode(msg: any): SealedChunk[] {
  const envelopes: Uint8Array = msg.envelopes
  // Ids are copied out: a view would keep the whole message buffer (megabytes of envelopes)
  // alive for as long as the id is kept, and ids are kept for the whole run.
  return msg.chunks.map((c: any) => ({ id: asChunkId(Uint8Array.from(c.id as Uint8Array)), plainBytes: c.plainBytes, envelope: envelopes.subarray(c.offset, c.offset + c.length) }))
}

/** A transferable view: the bytes alone in their ArrayBuffer (copied only when they share one). */
function ownBuffer(data: Uint8Array): Uint8Array {
  if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && !(data.buffer instanceof SharedArrayBuffer)) return data
  return data.slice()
}

/**
 * ChunkSealer on a pool of worker threads (one per core by default): the main thread keeps only
 * bookkeeping and packing. Local files are read by the workers, which seal their envelopes into
 * a few shared slots per worker that the main thread copies into packs and hands back: a backup
 * allocates nothing per file or chunk, which kept the garbage collector busy on every thread.
 * Other buffers are transferred, not copied; Merkle roots are computed on shared pack memory. A
 * stream is pinned to one worker (its chunker state lives there); other requests go to the
 * least-loaded worker. Idle workers do not keep the process alive.
 */
export class WorkerChunkSealer implements ChunkSealer, ChunkOpener {
  readonly #slots: Slot[]
  readonly #pending = new Map<number, Pending>()
  #nextId = 1
  #closed = false
  readonly #ready: Array<Promise<void>> = []
  /** The C module when built and not turned off as this sealer is made (as its workers see it). */
  readonly #native = nativeIngest()
  #fileBatch: { keys: SealingKeys; sizes: ChunkSizes; items: FileItem[]; bytes: number } | null = null

  constructor({ threads = Math.max(1, availableParallelism()) }: { threads?: number } = {}) {
    this.#slots = Array.from({ length: threads }, () => {
      const worker = new Worker(WORKER_URL)
      const buffers = Array.from({ length: SLOTS_PER_WORKER }, () => new SharedArrayBuffer(SLOT_BYTES))
      const slot: Slot = { worker, requests: 0, load: 0, envelopes: buffers.map((b) => new Uint8Array(b)) }
      worker.postMessage({ op: 'slots', slots: buffers })
      this.#ready.push(new Promise<void>((resolve, reject) => {
        const onReady = (msg: any) => {
          if (msg?.ready !== true) return
          worker.off('message', onReady)
          resolve()
        }
        worker.on('message', onReady)
        worker.once('error', reject)
        worker.once('exit', () => reject(closed('chunk sealer')))
      }).catch(() => {}))
      worker.on('message', (msg: any) => this.#onMessage(msg))
      worker.on('error', (err) => this.#failAll(err))
      worker.unref()
      return slot
    })
  }

  /**
   * Resolves once every worker has loaded (it takes a moment on a fresh process); requests made
   * before then simply wait in the workers' queues. A worker that fails to load is reported by the
   * requests sent to it, not here.
   */
  async ready(): Promise<void> {
    // Waiting must keep the process alive: idle workers are unreferenced.
    for (const s of this.#slots) s.worker.ref()
    try {
      await Promise.all(this.#ready)
    } finally {
      for (const s of this.#slots) if (s.requests === 0) s.worker.unref()
    }
  }

  #onMessage(msg: any): void {
    const p = this.#pending.get(msg.rid)
    if (!p) return
    if (msg.final === false && msg.error === undefined) return p.onPart?.(msg)
    this.#pending.delete(msg.rid)
    p.slot.load -= p.weight
    if (--p.slot.requests === 0) p.slot.worker.unref()
    if (msg.error !== undefined) return p.reject(new InvariantError(`seal worker failed: ${msg.error}`))
    p.resolve(msg)
  }

  #failAll(err: Error): void {
    for (const [rid, p] of this.#pending) {
      this.#pending.delete(rid)
      p.reject(err)
    }
  }

  #leastLoaded(): Slot {
    let best = this.#slots[0] as Slot
    for (const s of this.#slots) if (s.load < best.load) best = s
    return best
  }

  #request(slot: Slot, msg: Record<string, unknown>, transfer: ArrayBuffer[] = [], { weight = 1, onPart }: { weight?: number; onPart?: (msg: any) => void } = {}): Promise<any> {
    if (this.#closed) return Promise.reject(closed('chunk sealer'))
    const rid = this.#nextId++
    if (slot.requests++ === 0) slot.worker.ref()
    slot.load += weight
    return new Promise((resolve, reject) => {
      this.#pending.set(rid, { resolve, reject, slot, weight, ...(onPart ? { onPart } : {}) })
      slot.worker.postMessage({ ...msg, rid }, transfer)
    })
  }

  async sealWhole(keys: SealingKeys, data: Uint8Array, sizes: ChunkSizes = DEFAULT_CHUNK_SIZES): Promise<SealedChunk[]> {
    const own = ownBuffer(data)
    return decode(await this.#request(this.#leastLoaded(), { op: 'whole', keys, sizes, data: own }, [own.buffer as ArrayBuffer], { weight: 1 + own.length / (1024 * 1024) }))
  }

  /**
   * Files are queued and sent in batches (one message per FILE_BATCH files, FILE_BATCH_BYTES
   * bytes or turn of the event loop, whichever comes first): per-message costs dominated ingest
   * of many small files.
   */
  sealLocalFile(keys: SealingKeys, absolutePath: string, sizes: ChunkSizes, onChunks: OnSealedChunks, sizeHint = 0): Promise<LocalFileRead> {
    if (this.#closed) return Promise.reject(closed('chunk sealer'))
    if (sizes.maxBytes > MAX_CHUNK_BYTES) return Promise.reject(inputInvalid('chunks of local files are at most 4 MiB'))
    return new Promise((resolve, reject) => {
      let batch = this.#fileBatch
      if (!batch || batch.keys !== keys || batch.sizes !== sizes) {
        this.#flushFiles()
        batch = { keys, sizes, items: [], bytes: 0 }
        this.#fileBatch = batch
        setImmediate(() => this.#flushFiles())
      }
      batch.items.push({ path: absolutePath, onChunks, resolve, reject, settled: false, held: [] })
      batch.bytes += sizeHint
      if (batch.items.length >= FILE_BATCH || batch.bytes >= FILE_BATCH_BYTES) this.#flushFiles()
    })
  }

  #flushFiles(): void {
    const batch = this.#fileBatch
    this.#fileBatch = null
    if (!batch || batch.items.length === 0) return
    const { items } = batch
    const slot = this.#leastLoaded()
    const settle = (item: FileItem, outcome: { ok: LocalFileRead } | { err: Error }) => {
      if (item.settled) return
      item.settled = true
      if ('ok' in outcome) item.resolve(outcome.ok)
      else item.reject(outcome.err)
    }
    // Parts are handled strictly in order; each frees its slot once the chunks' consumers are done.
    let parts: Promise<void> = Promise.resolve()
    const onPart = (msg: any) => {
      parts = parts.then(() => this.#filePart(slot, msg, items, settle))
    }
    this.#request(slot, { op: 'files', keys: batch.keys, sizes: batch.sizes, paths: items.map((i) => i.path) }, [], { weight: 1 + batch.bytes / (1024 * 1024), onPart }).then(
      (msg) => {
        onPart(msg)
        return parts.then(() => {
          for (const item of items) if (!item.settled) settle(item, { err: new InvariantError(`seal worker gave no result for ${item.path}`) })
        })
      },
      (err) => items.forEach((item) => settle(item, { err })),
    )
  }

  /** Hands one posted slot's chunks to their files' consumers, settles finished files, frees the slot. */
  async #filePart(slot: Slot, msg: any, items: FileItem[], settle: (item: FileItem, outcome: { ok: LocalFileRead } | { err: Error }) => void): Promise<void> {
    const envelopes = slot.envelopes[msg.slot] as Uint8Array
    const waits: Array<Promise<void>> = []
    const deliver = (item: FileItem, chunks: SealedChunk[]) => {
      if (item.settled || chunks.length === 0) return
      try {
        const wait = item.onChunks(chunks)
        if (wait) {
          const held = wait.catch((err) => settle(item, { err }))
          item.held.push(held)
          waits.push(held)
        }
      } catch (err) {
        settle(item, { err: err as Error })
      }
    }
    let run: SealedChunk[] = []
    let runFile = -1
    const numbers: Float64Array = msg.numbers
    const ids: Uint8Array = msg.ids
    let chunk = 0
    for (let at = 0; at < numbers.length; at += RECORD_NUMBERS) {
      const kind = numbers[at] as number
      const file = numbers[at + 1] as number
      const item = items[file]
      if (!item) throw new InvariantError('a seal worker named a file it was not given')
      if (file !== runFile) {
        if (runFile >= 0) deliver(items[runFile] as FileItem, run)
        run = []
        runFile = file
      }
      if (kind === RECORD_CHUNK) {
        // Ids are copied out of the message: they are kept for the whole run.
        const offset = numbers[at + 2] as number
        run.push({ id: asChunkId(ids.slice(chunk * 32, chunk * 32 + 32)), plainBytes: numbers[at + 4] as number, envelope: envelopes.subarray(offset, offset + (numbers[at + 3] as number)) })
        chunk++
        continue
      }
      deliver(item, run)
      run = []
      if (kind === RECORD_FILE_FAILED) {
        const e = msg.errors[numbers[at + 2] as number] as { error: string; code?: string }
        settle(item, { err: ioFailed(`reading ${item.path}`, Object.assign(new Error(e.error), { code: e.code })) })
      } else {
        const ok = { ok: { bytesRead: numbers[at + 2] as number, after: { sizeBytes: numbers[at + 3] as number, mtimeMs: numbers[at + 4] as number } } }
        if (item.held.length === 0) settle(item, ok)
        else void Promise.all(item.held).then(() => settle(item, ok))
      }
    }
    if (runFile >= 0) deliver(items[runFile] as FileItem, run)
    await Promise.all(waits)
    if (!this.#closed) slot.worker.postMessage({ op: 'free', slot: msg.slot })
  }

  open(keys: SealingKeys, sizes: ChunkSizes = DEFAULT_CHUNK_SIZES): SealStream {
    if (this.#closed) throw closed('chunk sealer')
    const slot = this.#leastLoaded()
    const sid = this.#nextId++
    slot.worker.postMessage({ op: 'open', sid, keys, sizes })
    return {
      push: async (piece) => {
        const own = ownBuffer(piece)
        return decode(await this.#request(slot, { op: 'push', sid, data: own }, [own.buffer as ArrayBuffer]))
      },
      finish: async () => decode(await this.#request(slot, { op: 'finish', sid })),
    }
  }

  async merkleRoot(object: Uint8Array): Promise<Uint8Array> {
    if (this.#closed) throw closed('chunk sealer')
    // On the libuv thread pool when the C module is built: a worker busy with a batch of files
    // answers a `merkle` request only between reads, and the packs in flight (which hold the
    // envelope slots the workers wait for) wait for their roots.
    if (this.#native && object.length > 0) return this.#native.merkleRootAsync(object)
    // Shared memory crosses without a copy; anything else is copied by structured clone.
    const msg = await this.#request(this.#leastLoaded(), { op: 'merkle', object }, [], { weight: object.length / (1024 * 1024) })
    return msg.root
  }

  /** ChunkOpener: on the least-loaded worker, in the shared memory given (nothing is copied). */
  async openChunks(keys: { chunkKey: Uint8Array }, source: Uint8Array, into: Uint8Array, chunks: readonly ChunkToOpen[]): Promise<OpenFailure | null> {
    if (!(source.buffer instanceof SharedArrayBuffer) || !(into.buffer instanceof SharedArrayBuffer)) throw inputInvalid('chunks are opened on other threads only in shared memory')
    let plain = 0
    for (const c of chunks) {
      if (!(c.at >= 0 && c.at + c.sealedBytes <= source.length && c.to >= 0 && c.to + c.plainBytes <= into.length)) throw inputInvalid('a chunk to open lies outside its buffers')
      plain += c.plainBytes
    }
    const msg = await this.#request(this.#leastLoaded(), { op: 'unseal', chunkKey: keys.chunkKey, source, into, chunks }, [], { weight: plain / (1024 * 1024) })
    return msg.failed as OpenFailure | null
  }

  /**
   * A full garbage collection on every worker thread, for when a large job has ended: views of
   * shared memory that a worker was lent (a restore's ranges and chunk buffers) keep that memory
   * allocated until the worker's heap is collected, which an idle worker never does. Resolves
   * once every worker has collected, or the sealer is closed (nothing left to collect then).
   */
  async collectGarbage(): Promise<void> {
    if (this.#closed) return
    await Promise.all(this.#slots.map((s) => this.#request(s, { op: 'collect' }))).catch((err: unknown) => {
      if (!this.#closed) throw err
    })
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#failAll(closed('chunk sealer'))
    await Promise.all(this.#slots.map((s) => s.worker.terminate()))
  }
}
