import { PACK_MAX_BYTES } from './pack-format.js'

/**
 * The memory packs are built in: buffers of PACK_MAX_BYTES, lent to PackBuilders and given back
 * once a sealed pack is written out. One PackBuffers serves every run of an ingest service, so a
 * new run (the next backup, a catalog) reuses the buffers of the runs before it instead of
 * allocating its own while theirs wait for the garbage collector.
 */
export class PackBuffers {
  readonly #spare: Uint8Array[] = []

  /**
   * `allocate` makes a buffer of the given size (shared memory for helper threads, aligned for
   * direct I/O); `maxSpare` buffers at most are kept for reuse.
   */
  constructor(
    private readonly allocate: (bytes: number) => Uint8Array = (n) => new Uint8Array(n),
    private readonly maxSpare = 2,
  ) {}

  /** Buffers kept for reuse (for tests and metrics). */
  get spare(): number {
    return this.#spare.length
  }

  /** A buffer of exactly PACK_MAX_BYTES: a spare one when there is one, else a new one. */
  take(): Uint8Array {
    return this.#spare.pop() ?? this.allocate(PACK_MAX_BYTES)
  }

  /**
   * Takes back a buffer from take() (the caller no longer uses it). Its content is not cleared: a
   * PackBuilder writes every byte of a pack it seals. Anything that is not a whole pack buffer, or
   * memory already kept (given twice), is ignored: two builders must never share memory.
   */
  give(buffer: Uint8Array): void {
    if (buffer.length !== PACK_MAX_BYTES || this.#spare.length >= this.maxSpare) return
    if (this.#spare.some((b) => b.buffer === buffer.buffer && b.byteOffset === buffer.byteOffset)) return
    this.#spare.push(buffer)
  }
}
