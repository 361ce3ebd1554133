import { Resource } from '../shared/resource.js'

export interface DaemonPart {
  name: string
  open(): Promise<void>
  close(): Promise<void>
}

/**
 * The running node: parts opened in order and closed in reverse. If one fails to open, the ones
 * already open are closed again (Resource closes on a failed open).
 */
export class Daemon extends Resource {
  readonly #parts: DaemonPart[]
  #opened: DaemonPart[] = []

  constructor(parts: DaemonPart[]) {
    super()
    this.#parts = parts
  }

  protected async onOpen(): Promise<void> {
    for (const part of this.#parts) {
      await part.open()
      this.#opened.push(part)
    }
  }

  protected async onClose(): Promise<void> {
    const errors: unknown[] = []
    for (const part of this.#opened.reverse()) {
      try {
        await part.close()
      } catch (err) {
        errors.push(err)
      }
    }
    this.#opened = []
    if (errors.length > 0) throw errors[0]
  }
}
