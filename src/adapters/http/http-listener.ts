import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Resource } from '../../shared/resource.js'
import { ioFailed } from '../../core/errors.js'

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void

/** One HTTP listener as a Resource: open() listens, close() stops and ends idle connections. */
export class HttpListener extends Resource {
  #server: Server | null = null

  constructor(
    private readonly handler: RequestHandler,
    private readonly address: { host: string; port: number },
  ) {
    super()
  }

  /** http://host:port/ once open (the real port when 0 was asked for). */
  get url(): string {
    const a = this.#server?.address() as AddressInfo | null
    if (!a) return ''
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address
    return `http://${host}:${a.port}/`
  }

  protected async onOpen(): Promise<void> {
    const server = createServer(this.handler)
    server.headersTimeout = 30_000
    server.requestTimeout = 60_000
    this.#server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(ioFailed(`listening on ${this.address.host}:${this.address.port}`, err)))
      server.listen(this.address.port, this.address.host, () => resolve())
    })
  }

  protected async onClose(): Promise<void> {
    const server = this.#server
    if (!server?.listening) return
    await new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeIdleConnections()
    })
  }
}
