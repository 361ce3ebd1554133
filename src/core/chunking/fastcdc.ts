import { inputInvalid } from '../errors.js'

/**
 * FastCDC content-defined chunking (Xia et al., 2016) with normalized chunking (level 2).
 *
 * Rolling gear hash over 32-bit words: h = (h << 1) + gear[byte]. Bit k of h depends on the last
 * k + 1 bytes, so the masks use the top bits: a cut needs the top (log2(avg) + 2) bits to be zero
 * before the average size (harder) and the top (log2(avg) − 2) bits after it (easier). Bytes
 * before the minimum size are not hashed at all, which is most of FastCDC's speed.
 */
export const MIN_CHUNK_BYTES = 256 * 1024
export const AVG_CHUNK_BYTES = 1024 * 1024
export const MAX_CHUNK_BYTES = 4 * 1024 * 1024

export interface ChunkSizes {
  minBytes: number
  /** A power of two between minBytes and maxBytes. */
  avgBytes: number
  maxBytes: number
}

export const DEFAULT_CHUNK_SIZES: ChunkSizes = { minBytes: MIN_CHUNK_BYTES, avgBytes: AVG_CHUNK_BYTES, maxBytes: MAX_CHUNK_BYTES }

interface Masks {
  small: number
  large: number
}

function topBits(n: number): number {
  return n >= 32 ? 0xffffffff | 0 : ((0xffffffff << (32 - n)) | 0)
}

export function validateChunkSizes(sizes: ChunkSizes): Masks {
  const { minBytes, avgBytes, maxBytes } = sizes
  const bits = Math.log2(avgBytes)
  if (!Number.isInteger(bits) || bits < 6 || bits > 28) throw inputInvalid('average chunk size must be a power of two from 64 B to 256 MiB')
  if (!(Number.isInteger(minBytes) && minBytes >= 1 && minBytes < avgBytes && avgBytes < maxBytes && Number.isInteger(maxBytes))) {
    throw inputInvalid('chunk sizes must satisfy 1 <= min < avg < max')
  }
  return { small: topBits(bits + 2), large: topBits(bits - 2) }
}

/**
 * Length of the next chunk of data[start, end). `final` says no more bytes follow; otherwise the
 * caller guarantees end - start >= maxBytes, so the cut never depends on how input was split.
 */
export function findCut(gear: Int32Array, data: Uint8Array, start: number, end: number, sizes: ChunkSizes, masks: Masks): number {
  const available = end - start
  if (available <= sizes.minBytes) return available
  const limit = Math.min(available, sizes.maxBytes)
  const normal = Math.min(limit, sizes.avgBytes)
  const { small, large } = masks
  let h = 0
  let i = start + sizes.minBytes
  const normalEnd = start + normal
  const limitEnd = start + limit
  for (; i < normalEnd; i++) {
    h = ((h << 1) + (gear[data[i] as number] as number)) | 0
    if ((h & small) === 0) return i - start + 1
  }
  for (; i < limitEnd; i++) {
    h = ((h << 1) + (gear[data[i] as number] as number)) | 0
    if ((h & large) === 0) return i - start + 1
  }
  return limit
}

/**
 * Streaming chunker: push() bytes in pieces of any size, finish() at the end. Each chunk is passed
 * to `emit` as a view into an internal buffer that is only valid during the call; copy it to keep
 * it. Boundaries depend only on the bytes and the gear table, never on how input was split.
 */
export class Chunker {
  /** The table's bits as signed words: keeps V8's hash arithmetic in int32 (2× faster). */
  readonly #gear: Int32Array
  readonly #sizes: ChunkSizes
  readonly #masks: Masks
  #buf: Uint8Array
  #start = 0
  #end = 0

  constructor(gear: Uint32Array, sizes: ChunkSizes = DEFAULT_CHUNK_SIZES) {
    if (gear.length !== 256) throw inputInvalid('gear table must have 256 entries')
    this.#gear = new Int32Array(gear.buffer, gear.byteOffset, gear.length)
    this.#sizes = sizes
    this.#masks = validateChunkSizes(sizes)
    // Allocated on first streamed push: most files are small and go through chunkAll().
    this.#buf = new Uint8Array(0)
  }

  /**
   * Chunks a complete input (no earlier push()) without copying it: the same boundaries as
   * push(data) + finish(), and the views point into `data` itself.
   */
  chunkAll(data: Uint8Array, emit: (chunk: Uint8Array) => void): void {
    if (this.#end !== this.#start) throw inputInvalid('chunkAll() after push() without finish()')
    let at = 0
    while (at < data.length) {
      const cut = findCut(this.#gear, data, at, data.length, this.#sizes, this.#masks)
      emit(data.subarray(at, at + cut))
      at += cut
    }
  }

  push(data: Uint8Array, emit: (chunk: Uint8Array) => void): void {
    if (this.#buf.length === 0 && data.length > 0) this.#buf = new Uint8Array(this.#sizes.maxBytes * 2)
    let at = 0
    while (at < data.length) {
      if (this.#end === this.#buf.length) this.#compact()
      const n = Math.min(data.length - at, this.#buf.length - this.#end)
      this.#buf.set(data.subarray(at, at + n), this.#end)
      this.#end += n
      at += n
      this.#drain(false, emit)
    }
  }

  finish(emit: (chunk: Uint8Array) => void): void {
    this.#drain(true, emit)
    this.#start = 0
    this.#end = 0
  }

  #drain(final: boolean, emit: (chunk: Uint8Array) => void): void {
    while (this.#end - this.#start >= (final ? 1 : this.#sizes.maxBytes)) {
      const cut = findCut(this.#gear, this.#buf, this.#start, this.#end, this.#sizes, this.#masks)
      emit(this.#buf.subarray(this.#start, this.#start + cut))
      this.#start += cut
    }
  }

  #compact(): void {
    this.#buf.copyWithin(0, this.#start, this.#end)
    this.#end -= this.#start
    this.#start = 0
  }
}

/** Convenience for tests and small inputs: the chunk lengths of a whole buffer. */
export function chunkLengths(gear: Uint32Array, data: Uint8Array, sizes: ChunkSizes = DEFAULT_CHUNK_SIZES): number[] {
  const out: number[] = []
  const chunker = new Chunker(gear, sizes)
  chunker.push(data, (c) => out.push(c.length))
  chunker.finish((c) => out.push(c.length))
  return out
}
