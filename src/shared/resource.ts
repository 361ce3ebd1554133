/**
 * Base class for everything with a lifecycle. open() and close() cache their promise, so both
 * are idempotent and safe to call concurrently; a failed open closes the resource; close() may
 * be called at any time, even before or during open().
 */
export abstract class Resource {
  #opening: Promise<void> | null = null
  #closing: Promise<void> | null = null

  get opened(): boolean {
    return this.#opening !== null && this.#closing === null
  }

  get closing(): boolean {
    return this.#closing !== null
  }

  open(): Promise<void> {
    return (this.#opening ??= this.#run(() => this.onOpen(), true))
  }

  close(): Promise<void> {
    return (this.#closing ??= this.#run(async () => {
      await this.#opening?.catch(() => {})
      await this.onClose()
    }))
  }

  protected abstract onOpen(): Promise<void>
  protected abstract onClose(): Promise<void>

  async #run(fn: () => Promise<void>, closeOnFail = false): Promise<void> {
    try {
      await fn()
    } catch (err) {
      if (closeOnFail) void this.close()
      throw err
    }
  }
}
