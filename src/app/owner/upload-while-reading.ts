import { rethrowIfBug } from '../../core/errors.js'

/** Runs `pass` again after each wake() once the previous pass is over; stop() waits for the last. */
export class UploadWhileReading {
  #wanted = false
  #running: Promise<void> | null = null
  #stopped = false

  constructor(private readonly pass: () => Promise<void>) {}

  wake(): void {
    if (this.#stopped) return
    this.#wanted = true
    if (this.#running) return
    this.#running = this.#loop()
    this.#running.catch(() => {}) // a bug surfaces from stop(), not as an unhandled rejection
  }

  async #loop(): Promise<void> {
    while (this.#wanted && !this.#stopped) {
      this.#wanted = false
      try {
        await this.pass()
      } catch (err) {
        rethrowIfBug(err) // a peer or the spool failed: the final pass retries and reports it
      }
    }
    this.#running = null
  }

  async stop(): Promise<void> {
    this.#stopped = true
    await this.#running
  }
}
