/**
 * Worker thread body of WorkerChunkSealer: FastCDC, chunk ids, envelopes and Merkle roots off the
 * main thread. Every request carries a `rid`; every reply echoes it.
 *   { op: 'slots', slots: SharedArrayBuffer[] }   → (no reply) the envelope slots of `files`
 *   { op: 'free', slot }                          → (no reply) the main thread is done with a slot
 *   { op: 'files', keys, sizes, paths }           → local files read, chunked and sealed here (below)
 *   { op: 'whole', keys, sizes, data }            → sealed chunks of one complete buffer
 *   { op: 'open' | 'push' | 'finish', sid, … }    → a streamed file
 *   { op: 'merkle', object }                      → { root }
 *   { op: 'unseal', chunkKey, source, into, chunks }
 *                                                 → { failed } chunks opened in shared memory
 *                                                   (ChunkOpener)
 * `whole` and streams reply { chunks: [{ id, plainBytes, offset, length }], envelopes } with all
 * envelopes in one transferred buffer.
 *
 * `files` allocates nothing per file: each file is read into one reused buffer and its envelopes
 * are sealed straight into a shared slot. When a slot is full (or the batch ends) it is posted as
 * { rid, slot, final, numbers, ids, errors } and the next free slot is awaited; the main thread
 * copies the envelopes into packs and frees the slot. `numbers` (a Float64Array) holds the
 * records in order, five numbers each, with no object per record:
 *   0 (chunk), file, offset, length, plainBytes   a chunk of paths[file], its envelope at
 *                                                 slot[offset, offset + length), its id the next
 *                                                 32 bytes of `ids`
 *   1 (done),  file, bytesRead, size, mtimeMs     paths[file] is done; its size and mtime after
 *   2 (failed), file, k, 0, 0                     paths[file] could not be read: errors[k] is
 *                                                 { error, code } (chunks sent stay valid)
 * Batches run one at a time; a batch waiting for a slot does not hold up `merkle` requests, which
 * the main thread may need answered before it can free one.
 */
import { parentPort } from 'node:worker_threads'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync } from 'node:fs'
import { Chunker, findCut, validateChunkSizes, type ChunkSizes } from '../../core/chunking/index.js'
import { chunkIdOf, openChunk, sealChunkInto, ENVELOPE_OVERHEAD_BYTES } from '../../core/crypto/index.js'
import type { ChunkToOpen, OpenFailure } from '../../core/ports/chunk-opener.js'
import { merkleRoot } from '../../core/audit/index.js'
import { SodiumNativeCrypto } from './sodium-native-crypto.js'
import { nativeIngest } from './native-ingest.js'
import { RECORD_CHUNK, RECORD_FILE_DONE, RECORD_FILE_FAILED, RECORD_NUMBERS } from './seal-records.js'

interface Keys {
  idKey: Uint8Array
  gear: Uint32Array
  chunkKey: Uint8Array
}

const sodium = new SodiumNativeCrypto()
/** The C chunker when it was built (core's TypeScript otherwise); Merkle roots get C through `sodium`. */
const native = nativeIngest()
const streams = new Map<number, { chunker: Chunker; keys: Keys }>()
const port = parentPort
if (!port) throw new Error('seal-worker must run in a worker thread')

/** Seals chunk views (copying them into envelopes, so the views may be reused afterwards). */
function seal(keys: Keys, pieces: Uint8Array[]) {
  let total = 0
  for (const p of pieces) total += p.length + ENVELOPE_OVERHEAD_BYTES
  const envelopes = new Uint8Array(total)
  const chunks: Array<{ id: Uint8Array; plainBytes: number; offset: number; length: number }> = []
  let at = 0
  for (const p of pieces) {
    const id = chunkIdOf(sodium, keys.idKey, p)
    const length = sealChunkInto(sodium, keys.chunkKey, id, p, envelopes, at)
    chunks.push({ id, plainBytes: p.length, offset: at, length })
    at += length
  }
  return { chunks, envelopes }
}

function sealAll(keys: Keys, sizes: ChunkSizes, data: Uint8Array) {
  const pieces: Uint8Array[] = []
  new Chunker(keys.gear, sizes).chunkAll(data, (c) => pieces.push(c))
  return seal(keys, pieces)
}

/** Bytes asked of each read() of a file (the read buffer is the largest chunk plus this: 6 MiB a worker). */
const READ_PIECE_BYTES = 2 * 1024 * 1024

/** The envelope slots (shared with the main thread) and which of them are this worker's to fill. */
let slots: Uint8Array[] = []
const freeSlots: number[] = []
const slotWaiters: Array<(slot: number) => void> = []

function freeSlot(slot: number): void {
  const waiter = slotWaiters.shift()
  if (waiter) waiter(slot)
  else freeSlots.push(slot)
}

function takeSlot(): Promise<number> {
  const slot = freeSlots.pop()
  return slot !== undefined ? Promise.resolve(slot) : new Promise((resolve) => slotWaiters.push(resolve))
}

/** One read buffer per worker, reused for every file: room for a whole chunk plus one read. */
let readBuffer = new Uint8Array(0)

/** `into` (twice the size) holding `from`'s values first. */
function doubled<T extends Float64Array | Uint8Array>(from: T, into: T): T {
  into.set(from)
  return into
}

/** The records of one posted slot (seal-records.ts), built without an object per record. */
class Records {
  numbers = new Float64Array(RECORD_NUMBERS * 256)
  ids = new Uint8Array(32 * 256)
  count = 0
  chunks = 0
  errors: Array<{ error: string; code?: string }> = []

  add(kind: number, file: number, a: number, b: number, c: number): void {
    if ((this.count + 1) * RECORD_NUMBERS > this.numbers.length) this.numbers = doubled(this.numbers, new Float64Array(this.numbers.length * 2))
    const at = this.count++ * RECORD_NUMBERS
    const n = this.numbers
    n[at] = kind
    n[at + 1] = file
    n[at + 2] = a
    n[at + 3] = b
    n[at + 4] = c
  }

  chunk(file: number, id: Uint8Array, offset: number, length: number, plainBytes: number): void {
    if ((this.chunks + 1) * 32 > this.ids.length) this.ids = doubled(this.ids, new Uint8Array(this.ids.length * 2))
    this.ids.set(id, this.chunks++ * 32)
    this.add(RECORD_CHUNK, file, offset, length, plainBytes)
  }

  /** The message body; these records are then forgotten. */
  take(): { numbers: Float64Array; ids: Uint8Array; errors: Array<{ error: string; code?: string }> } {
    const out = { numbers: this.numbers.slice(0, this.count * RECORD_NUMBERS), ids: this.ids.slice(0, this.chunks * 32), errors: this.errors }
    this.count = 0
    this.chunks = 0
    this.errors = []
    return out
  }
}

/** Reads, chunks and seals a batch of local files into slots (see the top of this file). */
async function sealFiles(rid: number, keys: Keys, sizes: ChunkSizes, paths: string[]): Promise<void> {
  const masks = validateChunkSizes(sizes)
  const gear = new Int32Array(keys.gear.buffer, keys.gear.byteOffset, keys.gear.length)
  if (readBuffer.length < sizes.maxBytes + READ_PIECE_BYTES) readBuffer = new Uint8Array(sizes.maxBytes + READ_PIECE_BYTES)
  const buf = readBuffer
  const { minBytes, avgBytes, maxBytes } = sizes
  const small = masks.small >>> 0
  const large = masks.large >>> 0
  const cutAt = native
    ? (start: number, end: number) => native.gearCut(gear, buf, start, end, minBytes, avgBytes, maxBytes, small, large)
    : (start: number, end: number) => findCut(gear, buf, start, end, sizes, masks)
  let slot = await takeSlot()
  let at = 0
  const records = new Records()
  const post = (final: boolean) => {
    const body = records.take()
    port?.postMessage({ rid, slot, final, ...body }, [body.numbers.buffer as ArrayBuffer, body.ids.buffer as ArrayBuffer])
  }
  for (let file = 0; file < paths.length; file++) {
    const path = paths[file] as string
    let fd = -1
    try {
      // Never follows a symlink, and never blocks on a FIFO: the walk saw a regular file here, but
      // it may have been replaced since.
      fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
      const opened = fstatSync(fd)
      if (!opened.isFile()) throw Object.assign(new Error('it is no longer a regular file'), { code: 'EINVAL' })
      let start = 0
      let end = 0
      let position = 0
      let eof = false
      for (;;) {
        if (!eof && end - start < sizes.maxBytes) {
          // Keep a whole chunk's worth ahead of the cut, so cuts never depend on read sizes.
          if (buf.length - end < READ_PIECE_BYTES) {
            buf.copyWithin(0, start, end)
            end -= start
            start = 0
          }
          const n = readSync(fd, buf, end, READ_PIECE_BYTES, position)
          position += n
          end += n
          // A short read that reaches the size the file had when opened is its end: one read
          // call fewer per small file. A file that grew since is caught by the size check after.
          if (n === 0 || (n < READ_PIECE_BYTES && position >= opened.size)) eof = true
          continue
        }
        if (start === end) break
        const cut = cutAt(start, end)
        const chunk = buf.subarray(start, start + cut)
        start += cut
        const sealedBytes = cut + ENVELOPE_OVERHEAD_BYTES
        let target = slots[slot] as Uint8Array
        if (at + sealedBytes > target.length) {
          post(false)
          slot = await takeSlot()
          target = slots[slot] as Uint8Array
          at = 0
        }
        if (sealedBytes > target.length) throw new Error(`a chunk of ${cut} bytes does not fit an envelope slot`)
        const id = chunkIdOf(sodium, keys.idKey, chunk)
        const length = sealChunkInto(sodium, keys.chunkKey, id, chunk, target, at)
        records.chunk(file, id, at, length, cut)
        at += length
      }
      const st = lstatSync(path)
      records.add(RECORD_FILE_DONE, file, position, st.size, st.mtimeMs)
    } catch (err) {
      const code = (err as { code?: string }).code
      records.add(RECORD_FILE_FAILED, file, records.errors.length, 0, 0)
      records.errors.push({ error: err instanceof Error ? err.message : String(err), ...(code !== undefined ? { code } : {}) })
    } finally {
      if (fd >= 0) closeSync(fd)
    }
  }
  post(true)
}

/** `files` batches run one after another: they share the read buffer. */
let filesQueue: Promise<void> = Promise.resolve()

/** Opens each chunk's envelope (under its id) into its place; the first that fails, or null. */
function unseal(chunkKey: Uint8Array, source: Uint8Array, into: Uint8Array, chunks: ChunkToOpen[]): OpenFailure | null {
  for (let index = 0; index < chunks.length; index++) {
    const c = chunks[index] as ChunkToOpen
    const envelope = source.subarray(c.at, c.at + c.sealedBytes)
    // Null too when the plaintext is not plainBytes long: `into` is exactly that (Sodium port).
    if (openChunk(sodium, chunkKey, c.chunkId, envelope, into.subarray(c.to, c.to + c.plainBytes)) === null) return { index }
  }
  return null
}

let fullGc: (() => void) | null = null
/**
 * A full collection of this thread's heap (the expose-gc trick of adapters/system/v8-heap-tuning,
 * which this adapter may not import; each thread needs the function of its own context). Shared
 * memory a restore lent this thread (ranges and chunk buffers) stays allocated while any thread's
 * heap still holds a view of it, and an idle thread collects nothing: without this, tens of
 * megabytes outlive every restore here.
 */
function collectGarbage(): void {
  if (!fullGc) {
    setFlagsFromString('--expose-gc')
    fullGc = runInNewContext('gc') as () => void
  }
  fullGc()
}

function reply(rid: number, body: { chunks: unknown[]; envelopes: Uint8Array } & Record<string, unknown>) {
  port?.postMessage({ rid, ...body }, [body.envelopes.buffer as ArrayBuffer])
}

// Loaded: WorkerChunkSealer.ready() waits for this.
port.postMessage({ ready: true })

port.on('message', (msg: any) => {
  try {
    switch (msg.op) {
      case 'whole':
        return reply(msg.rid, sealAll(msg.keys, msg.sizes, msg.data))
      case 'slots':
        slots = (msg.slots as SharedArrayBuffer[]).map((b) => new Uint8Array(b))
        freeSlots.splice(0, freeSlots.length, ...slots.map((_, i) => slots.length - 1 - i))
        return
      case 'free':
        return freeSlot(msg.slot)
      case 'files':
        filesQueue = filesQueue.then(() =>
          sealFiles(msg.rid, msg.keys, msg.sizes, msg.paths).catch((err) => port?.postMessage({ rid: msg.rid, error: err instanceof Error ? err.message : String(err) })),
        )
        return
      case 'open':
        streams.set(msg.sid, { chunker: new Chunker(msg.keys.gear, msg.sizes), keys: msg.keys })
        return
      case 'push':
      case 'finish': {
        const s = streams.get(msg.sid)
        if (!s) throw new Error(`unknown stream ${msg.sid}`)
        const pieces: Uint8Array[] = []
        const take = (c: Uint8Array) => pieces.push(c.slice()) // views into the chunker's buffer
        if (msg.op === 'push') s.chunker.push(msg.data, take)
        else {
          s.chunker.finish(take)
          streams.delete(msg.sid)
        }
        return reply(msg.rid, seal(s.keys, pieces))
      }
      case 'collect':
        collectGarbage()
        return port?.postMessage({ rid: msg.rid, collected: true })
      case 'merkle':
        return port?.postMessage({ rid: msg.rid, root: merkleRoot(sodium, msg.object) })
      case 'unseal':
        return port?.postMessage({ rid: msg.rid, failed: unseal(msg.chunkKey, msg.source, msg.into, msg.chunks) })
      default:
        throw new Error(`unknown op ${String(msg.op)}`)
    }
  } catch (err) {
    const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined
    port?.postMessage({ rid: msg.rid, error: err instanceof Error ? err.message : String(err), code })
  }
})
