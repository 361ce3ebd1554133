import { Worker } from 'node:worker_threads'
import { availableParallelism } from 'node:os'
import type { ChunkSealer, SealStream, SealingKeys, SealedChunk, SealedFile } from '../../core/ports/chunk-sealer.js'
import { DEFAULT_CHUNK_SIZES, type ChunkSizes } from '../../core/chunking/index.js'
import { asChunkId } from '../../core/ids.js'
import { closed, InvariantError, ioFailed } from '../../core/errors.js'

interface Pending {
  resolve: (msg: any) => void
  reject: (err: Error) => void
  slot: Slot
}

interface Slot {
  worker: Worker
  load: number
}

// Node 20 workers do not inherit the parent's tsx loader: from source, a small .mjs entry
// registers it first.
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './seal-worker-boot.mjs' : './seal-worker.js', import.meta.url)

/** Small files per message to a worker. */
const FILE_BATCH = 16

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
 * bookkeeping, packing and I/O. Buffers are transferred, not copied; Merkle roots are computed
 * on shared pack memory. A stream is pinned to one worker (its chunker state lives there); other
 * requests go to the least-loaded worker. Idle workers do not keep the process alive.
 */
export class WorkerChunkSealer implements ChunkSealer {
  readonly #slots: Slot[]
  readonly #pending = new Map<number, Pending>()
  #nextId = 1
  #closed = false
  #fileBatch: { keys: SealingKeys; sizes: ChunkSizes; items: Array<{ path: string; resolve: (f: SealedFile) => void; reject: (e: Error) => void }> } | null = null

  constructor({ threads = Math.max(1, availableParallelism()) }: { threads?: number } = {}) {
    this.#slots = Array.from({ length: threads }, () => {
      const worker = new Worker(WORKER_URL)
      const slot: Slot = { worker, load: 0 }
      worker.on('message', (msg: any) => this.#onMessage(msg))
      worker.on('error', (err) => this.#failAll(err))
      worker.unref()
      return slot
    })
  }

  #onMessage(msg: any): void {
    const p = this.#pending.get(msg.rid)
    if (!p) return
    this.#pending.delete(msg.rid)
    if (--p.slot.load === 0) p.slot.worker.unref()
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

  #request(slot: Slot, msg: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<any> {
    if (this.#closed) return Promise.reject(closed('chunk sealer'))
    const rid = this.#nextId++
    if (slot.load++ === 0) slot.worker.ref()
    return new Promise((resolve, reject) => {
      this.#pending.set(rid, { resolve, reject, slot })
      slot.worker.postMessage({ ...msg, rid }, transfer)
    })
  }

  async sealWhole(keys: SealingKeys, data: Uint8Array, sizes: ChunkSizes = DEFAULT_CHUNK_SIZES): Promise<SealedChunk[]> {
    const own = ownBuffer(data)
    return decode(await this.#request(this.#leastLoaded(), { op: 'whole', keys, sizes, data: own }, [own.buffer as ArrayBuffer]))
  }

  /**
   * Small files are queued and sent in batches (one message per FILE_BATCH files or per turn of
   * the event loop, whichever comes first): per-message costs dominated ingest of many small files.
   */
  sealLocalFile(keys: SealingKeys, absolutePath: string, sizes: ChunkSizes = DEFAULT_CHUNK_SIZES): Promise<SealedFile> {
    if (this.#closed) return Promise.reject(closed('chunk sealer'))
    return new Promise((resolve, reject) => {
      let batch = this.#fileBatch
      if (!batch || batch.keys !== keys || batch.sizes !== sizes) {
        this.#flushFiles()
        batch = { keys, sizes, items: [] }
        this.#fileBatch = batch
        setImmediate(() => this.#flushFiles())
      }
      batch.items.push({ path: absolutePath, resolve, reject })
      if (batch.items.length >= FILE_BATCH) this.#flushFiles()
    })
  }

  #flushFiles(): void {
    const batch = this.#fileBatch
    this.#fileBatch = null
    if (!batch || batch.items.length === 0) return
    this.#request(this.#leastLoaded(), { op: 'files', keys: batch.keys, sizes: batch.sizes, paths: batch.items.map((i) => i.path) }).then(
      (msg) =>
        batch.items.forEach((item, i) => {
          const r = msg.results[i]
          if (r.error !== undefined) item.reject(ioFailed(`reading ${item.path}`, new Error(r.error)))
          else item.resolve({ chunks: decode(r), bytesRead: r.bytesRead, after: r.after })
        }),
      (err) => batch.items.forEach((item) => item.reject(err)),
    )
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
    // Shared memory crosses without a copy; anything else is copied by structured clone.
    const msg = await this.#request(this.#leastLoaded(), { op: 'merkle', object })
    return msg.root
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#failAll(closed('chunk sealer'))
    await Promise.all(this.#slots.map((s) => s.worker.terminate()))
  }
}
