import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { Resource } from '../../shared/resource.js'
import { ioFailed } from '../../core/errors.js'

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void

export interface ListenerOptions {
  /** Serve HTTPS (TLS 1.3 only) with this certificate and key, PEM. */
  tls?: { certPem: string; keyPem: string }
  /** Longest a whole request may take, body included (slow bodies are cut off). */
  requestTimeoutMs?: number
}

/** One HTTP(S) listener as a Resource: open() listens, close() stops and ends idle connections. */
export class HttpListener extends Resource {
  #server: Server | null = null

  constructor(
    private readonly handler: RequestHandler,
    private readonly address: { host: string; port: number },
    private readonly options: ListenerOptions = {},
  ) {
    super()
  }

  /** http://host:port/ once open (the real port when 0 was asked for). */
  get url(): string {
    const a = this.#server?.address() as AddressInfo | null
    if (!a) return ''
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address
    return `${this.options.tls ? 'https' : 'http'}://${host}:${a.port}/`
  }

  protected async onOpen(): Promise<void> {
    const { tls } = this.options
    // Node checks request timeouts on this interval (30 s by default): short limits need it shorter.
    const requestTimeout = this.options.requestTimeoutMs ?? 60_000
    const timeouts = { requestTimeout, headersTimeout: Math.min(30_000, requestTimeout), connectionsCheckingInterval: Math.min(30_000, Math.max(250, requestTimeout / 4)) }
    const server: Server = tls ? createTlsServer({ cert: tls.certPem, key: tls.keyPem, minVersion: 'TLSv1.3', ...timeouts }, this.handler) : createServer(timeouts, this.handler)
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
      // Peers may hold keep-alive connections mid-request; a stopping node does not wait for them.
      setTimeout(() => server.closeAllConnections(), 2000).unref()
    })
  }
}
