/** A buffer lent by a BufferPool: `bytes` is exactly the size asked for; `release` is idempotent. */
export interface PooledBytes {
  bytes: Uint8Array
  release: () => void
}

export interface BufferPoolOptions {
  /** Idle buffers kept for reuse, at most this many... */
  maxIdle: number
  /** ...and at most this many bytes in all. */
  maxIdleBytes: number
  /** Sizes are rounded up to a multiple of this, so near sizes share buffers. */
  granule: number
  /** Idle buffers are dropped once the pool has not been used for this long. */
  idleMs: number
  /**
   * Lend views of SharedArrayBuffers: memory that cannot be detached, which native code on other
   * threads may read in place (the native ingest module's writeAt) instead of copying it first.
   */
  shared?: boolean
}

/**
 * Reusable byte buffers for large, short-lived data such as request bodies. A fresh buffer of
 * many MiB costs page faults and zeroing, and counts as external memory that pushes the garbage
 * collector into full collections; lending the same few buffers again avoids all three.
 *
 * take(n) lends a view of exactly n bytes whose content is NOT cleared: the borrower must write
 * every byte it later reads. After release() the borrower must not touch the view again.
 */
export class BufferPool {
  readonly #opts: BufferPoolOptions
  readonly #idle: Array<ArrayBuffer | SharedArrayBuffer> = []
  #idleBytes = 0
  #timer: ReturnType<typeof setTimeout> | null = null

  constructor(opts: BufferPoolOptions) {
    if (!(opts.granule >= 1 && opts.maxIdle >= 0 && opts.maxIdleBytes >= 0 && opts.idleMs >= 0)) throw new RangeError('buffer pool options must not be negative')
    this.#opts = { ...opts }
  }

  /** Idle buffers and their bytes (for tests and metrics). */
  get idle(): { count: number; bytes: number } {
    return { count: this.#idle.length, bytes: this.#idleBytes }
  }

  take(size: number): PooledBytes {
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError('a pooled buffer size must be a non-negative integer')
    let best = -1
    for (let i = 0; i < this.#idle.length; i++) {
      const len = (this.#idle[i] as ArrayBuffer | SharedArrayBuffer).byteLength
      if (len >= size && (best < 0 || len < (this.#idle[best] as ArrayBuffer | SharedArrayBuffer).byteLength)) best = i
    }
    let buffer: ArrayBuffer | SharedArrayBuffer
    if (best >= 0) {
      buffer = this.#idle.splice(best, 1)[0] as ArrayBuffer | SharedArrayBuffer
      this.#idleBytes -= buffer.byteLength
    } else {
      const bytes = Math.ceil(Math.max(size, 1) / this.#opts.granule) * this.#opts.granule
      buffer = this.#opts.shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes)
    }
    let lent = true
    return {
      bytes: new Uint8Array(buffer, 0, size),
      release: () => {
        if (!lent) return
        lent = false
        this.#keep(buffer)
      },
    }
  }

  /** Drops every idle buffer. */
  clear(): void {
    this.#idle.length = 0
    this.#idleBytes = 0
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
  }

  #keep(buffer: ArrayBuffer | SharedArrayBuffer): void {
    const { maxIdle, maxIdleBytes, idleMs } = this.#opts
    if (this.#idle.length >= maxIdle || this.#idleBytes + buffer.byteLength > maxIdleBytes) return
    this.#idle.push(buffer)
    this.#idleBytes += buffer.byteLength
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = setTimeout(() => this.clear(), idleMs)
    // An idle pool must not keep a process alive.
    ;(this.#timer as { unref?: () => void }).unref?.()
  }
}
