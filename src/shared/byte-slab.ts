/**
 * Copies of small byte strings (32-byte ids) packed into shared slabs. A Uint8Array of its own
 * costs an ArrayBuffer object and a separate native allocation besides its bytes, about 230 bytes
 * for a 32-byte id; a view into a slab costs the view and the bytes. Meant for many ids that live
 * as long as each other (one backup run's): a slab stays in memory while any view into it does.
 * Views are never detached or transferred (that would detach every view of the slab).
 */
export class ByteSlab {
  #slab = new Uint8Array(0)
  #used = 0

  constructor(private readonly slabBytes = 64 * 1024) {
    if (!(Number.isSafeInteger(slabBytes) && slabBytes > 0)) throw new RangeError('a slab holds at least one byte')
  }

  /** A copy of `bytes` (longer than a slab: a buffer of its own). */
  copy(bytes: Uint8Array): Uint8Array {
    const n = bytes.length
    if (n > this.slabBytes) return bytes.slice()
    if (this.#used + n > this.#slab.length) {
      this.#slab = new Uint8Array(this.slabBytes)
      this.#used = 0
    }
    const out = this.#slab.subarray(this.#used, this.#used + n)
    out.set(bytes)
    this.#used += n
    return out
  }
}
