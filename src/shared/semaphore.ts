/** Counting semaphore: at most `limit` holders at once, waiters served in arrival order. */
export class Semaphore {
  #free: number
  readonly #waiters: Array<() => void> = []

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('semaphore limit must be a positive integer')
    this.#free = limit
  }

  async acquire(): Promise<() => void> {
    if (this.#free > 0) {
      this.#free--
    } else {
      await new Promise<void>((resolve) => this.#waiters.push(resolve))
    }
    let released = false
    return () => {
      if (released) return
      released = true
      const next = this.#waiters.shift()
      if (next) next()
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
}
