interface Waiter {
  rank: number
  seq: number
  wake: () => void
}

const before = (a: Waiter, b: Waiter): boolean => a.rank < b.rank || (a.rank === b.rank && a.seq < b.seq)

/**
 * Counting semaphore: at most `limit` holders at once. Waiters are served lowest rank first, and in
 * arrival order among equal ranks (so without ranks, in arrival order).
 */
export class Semaphore {
  #free: number
  #seq = 0
  /** A binary min-heap of the waiters by (rank, arrival). */
  readonly #waiters: Waiter[] = []

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('semaphore limit must be a positive integer')
    this.#free = limit
  }

  /** Resolves with a release function once a slot is free; `rank` orders the waiters (default 0). */
  async acquire(rank = 0): Promise<() => void> {
    if (Number.isNaN(rank)) throw new RangeError('a semaphore rank must be a number')
    if (this.#free > 0) {
      this.#free--
    } else {
      await new Promise<void>((wake) => this.#push({ rank, seq: this.#seq++, wake }))
    }
    let released = false
    return () => {
      if (released) return
      released = true
      const next = this.#pop()
      if (next) next.wake()
      else this.#free++
    }
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire()
    try {
      return await fn()
    } finally {
      release()
    }
  }

  #push(w: Waiter): void {
    const heap = this.#waiters
    let i = heap.push(w) - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(w, heap[parent] as Waiter)) break
      heap[i] = heap[parent] as Waiter
      i = parent
    }
    heap[i] = w
  }

  #pop(): Waiter | undefined {
    const heap = this.#waiters
    const top = heap[0]
    const last = heap.pop()
    if (top === undefined || last === undefined || heap.length === 0) return top
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      if (l >= heap.length) break
      const r = l + 1
      const child = r < heap.length && before(heap[r] as Waiter, heap[l] as Waiter) ? r : l
      if (!before(heap[child] as Waiter, last)) break
      heap[i] = heap[child] as Waiter
      i = child
    }
    heap[i] = last
    return top
  }
}
