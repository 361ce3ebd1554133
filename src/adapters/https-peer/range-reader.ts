import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls'
import { createHash } from 'node:crypto'
import { BackupError, invariant, signatureInvalid } from '../../core/errors.js'
import { bytesEqual } from '../../shared/bytes.js'

/** target.set(source, offset), by whatever copies fastest. */
export type CopyBytes = (target: Uint8Array, offset: number, source: Uint8Array) => void

export interface RangeAnswer {
  status: number
  headers: Record<string, string>
  /** `into` for a 2xx answer; the (small) error body otherwise. */
  body: Uint8Array
}

export interface RangeReaderOptions {
  /** https://host:port of the peer. */
  url: string
  /** The certificate fingerprint the peer must present (its announcement vouches for it). */
  pin: () => Uint8Array | null
  timeoutMs: number
  copy: CopyBytes
  /** The most an error answer (4xx, 5xx) may hold. */
  errorLimit: number
}

/** The most a response's status line and headers may take. */
const HEAD_LIMIT = 16 * 1024
/** Idle connections kept per peer, and for how long (the peer's server closes them after 5 s). */
const MAX_IDLE = 4
const IDLE_MS = 4000
/** Decrypted bytes land here before they are copied out: TLS hands over at most 16 KiB at a time. */
const READ_BUFFER_BYTES = 64 * 1024

/** A peer that could not be reached or failed mid-answer (retryable): every peer connection's error. */
export const unreachable = (url: string, why: string) => new BackupError('PEER_UNREACHABLE', `peer ${url} could not be reached: ${why}`, { retryable: true })

/** SHA-256 of the certificate a TLS connection presented (what peers pin), or null. */
export function certificateSha256(socket: TLSSocket): Uint8Array | null {
  const cert = socket.getPeerCertificate?.(false)
  return cert?.raw ? new Uint8Array(createHash('sha256').update(cert.raw).digest()) : null
}

/** A peer whose TLS certificate is not the one pinned for it. */
export const certificateRefused = (url: string) => signatureInvalid(`peer ${url} presented a TLS certificate other than the one pinned for it`)
const refused = (url: string, why: string) => new BackupError('PEER_REFUSED', `peer ${url} ${why}`)

/** What a connection is doing with the bytes that arrive. */
interface Reading {
  /** A byte of the answer has arrived. */
  started: boolean
  onBytes(bytes: Uint8Array): void
  onEnd(err: BackupError): void
}

interface Connection {
  socket: TLSSocket
  reading: Reading | null
  idleTimer: NodeJS.Timeout | null
  /** A response was read on it before: a close before the next answer's first byte may be the server's idle close. */
  reused: boolean
}

/**
 * GET requests whose answers go straight into the caller's memory: the bulk reads of a restore.
 * Raw TLS connections (kept alive, pinned like every other connection to the peer) with Node's
 * `onread`: decrypted records land in one reused buffer and are copied to their place, with no
 * Buffer, stream event or HTTP parser call per 16 KiB record. An HTTP client's stack (undici)
 * cost the restoring node about twice the CPU per byte received.
 *
 * Only what a Quloud node answers is accepted: HTTP/1.1, a Content-Length (no chunked bodies), a
 * head under 16 KiB; a success must be exactly as long as the memory given for it, an error at
 * most `errorLimit`. Anything else, or bytes after the answer, is PEER_REFUSED and the connection
 * is closed. A connection that fails or times out is PEER_UNREACHABLE (retryable), except that a
 * kept-alive connection the peer closed before answering at all is replaced once at no cost.
 */
export class RangeReader {
  readonly #idle: Connection[] = []
  readonly #host: string
  readonly #port: number
  /** host:port as the Host header gives it (IPv6 in brackets). */
  readonly #hostHeader: string
  #closed = false

  constructor(private readonly opts: RangeReaderOptions) {
    const u = new URL(opts.url)
    this.#host = u.hostname.replace(/^\[|\]$/g, '')
    this.#port = Number(u.port || 443)
    this.#hostHeader = u.host
  }

  /** GET `path` with `headers`; a 2xx answer must be exactly `into.length` bytes and fills `into`. */
  async get(path: string, headers: Record<string, string>, into: Uint8Array): Promise<RangeAnswer> {
    if (this.#closed) throw unreachable(this.opts.url, 'the client is closed')
    invariant(![path, ...Object.keys(headers), ...Object.values(headers)].some((v) => /[\r\n]/.test(v)), 'a request line or header holds a line break')
    const request = `GET ${path} HTTP/1.1\r\nhost: ${this.#hostHeader}\r\n${Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('')}\r\n`
    for (;;) {
      const conn = this.#idle.pop() ?? (await this.#connect())
      if (conn.idleTimer) clearTimeout(conn.idleTimer)
      conn.idleTimer = null
      try {
        return await this.#exchange(conn, request, into)
      } catch (err) {
        if (err instanceof StaleConnection) continue // closed by the peer while idle: another one
        throw err
      }
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    for (const conn of this.#idle.splice(0)) {
      if (conn.idleTimer) clearTimeout(conn.idleTimer)
      conn.socket.destroy()
    }
  }

  #connect(): Promise<Connection> {
    return new Promise<Connection>((resolve, reject) => {
      const buffer = Buffer.alloc(READ_BUFFER_BYTES)
      const conn: Connection = { socket: null as unknown as TLSSocket, reading: null, idleTimer: null, reused: false }
      let settled = false
      const fail = (err: BackupError) => {
        if (settled) return
        settled = true
        conn.socket.destroy()
        reject(err)
      }
      // No session resumption (a resumed session shows no certificate, and every connection must).
      conn.socket = tlsConnect({
        host: this.#host,
        port: this.#port,
        rejectUnauthorized: false,
        minVersion: 'TLSv1.3',
        onread: {
          buffer,
          callback: (n: number) => {
            if (conn.reading) conn.reading.onBytes(buffer.subarray(0, n))
            else conn.socket.destroy() // bytes nobody asked for
            return true
          },
        },
        // onread is net.Socket's option, which tls.connect passes on (its types do not list it).
      } as ConnectionOptions)
      conn.socket.setTimeout(this.opts.timeoutMs, () => {
        const err = unreachable(this.opts.url, `no answer for ${this.opts.timeoutMs} ms`)
        fail(err)
        conn.reading?.onEnd(err)
        conn.socket.destroy()
      })
      conn.socket.once('secureConnect', () => {
        const sha = certificateSha256(conn.socket)
        const pin = this.opts.pin()
        if (!sha || !pin || !bytesEqual(sha, pin)) return fail(certificateRefused(this.opts.url))
        settled = true
        resolve(conn)
      })
      // A kept-alive connection that fails before any byte of the answer was most likely closed
      // by the peer while idle (its server closes them after a few seconds).
      const ended = (why: string) => {
        const reading = conn.reading
        if (!reading) return
        reading.onEnd(conn.reused && !reading.started ? new StaleConnection() : unreachable(this.opts.url, why))
      }
      conn.socket.on('error', (err) => {
        fail(unreachable(this.opts.url, err.message))
        ended(err.message)
      })
      conn.socket.on('close', () => {
        fail(unreachable(this.opts.url, 'the connection closed'))
        ended('the connection closed before the answer was complete')
        this.#forget(conn)
      })
    })
  }

  #exchange(conn: Connection, request: string, into: Uint8Array): Promise<RangeAnswer> {
    return new Promise<RangeAnswer>((resolve, reject) => {
      const parser = new AnswerParser(this.opts, into)
      const reading: Reading = {
        started: false,
        onBytes: (bytes) => {
          reading.started = true
          let done: RangeAnswer | null
          try {
            done = parser.take(bytes)
          } catch (err) {
            conn.reading = null
            conn.socket.destroy()
            return reject(err)
          }
          if (!done) return
          conn.reading = null
          conn.reused = true
          if (parser.keepAlive) this.#release(conn)
          else conn.socket.destroy()
          resolve(done)
        },
        onEnd: (err) => {
          conn.reading = null
          reject(err)
        },
      }
      conn.reading = reading
      conn.socket.write(request)
    })
  }

  #release(conn: Connection): void {
    if (this.#closed || this.#idle.length >= MAX_IDLE || conn.socket.destroyed) return void conn.socket.destroy()
    conn.idleTimer = setTimeout(() => conn.socket.destroy(), IDLE_MS)
    conn.idleTimer.unref()
    this.#idle.push(conn)
  }

  #forget(conn: Connection): void {
    if (conn.idleTimer) clearTimeout(conn.idleTimer)
    const at = this.#idle.indexOf(conn)
    if (at >= 0) this.#idle.splice(at, 1)
  }
}

/** A kept-alive connection closed before any byte of the answer: the request is sent again on another. */
class StaleConnection extends BackupError {
  constructor() {
    super('PEER_UNREACHABLE', 'a kept-alive connection was closed by the peer', { retryable: true })
  }
}

/** Reads one HTTP/1.1 answer: the head, then exactly Content-Length bytes of body. */
class AnswerParser {
  #head = new Uint8Array(0)
  #answer: RangeAnswer | null = null
  #body: Uint8Array | null = null
  #used = 0
  keepAlive = true

  constructor(
    private readonly opts: RangeReaderOptions,
    private readonly into: Uint8Array,
  ) {}

  /** The answer once complete, null while more bytes are due; throws PEER_REFUSED. */
  take(bytes: Uint8Array): RangeAnswer | null {
    if (!this.#answer) {
      const joined = new Uint8Array(this.#head.length + bytes.length)
      joined.set(this.#head)
      joined.set(bytes, this.#head.length)
      const end = headEnd(joined)
      if (end < 0) {
        if (joined.length > HEAD_LIMIT) throw refused(this.opts.url, `sent an answer head over ${HEAD_LIMIT} bytes`)
        this.#head = joined
        return null
      }
      if (end > HEAD_LIMIT) throw refused(this.opts.url, `sent an answer head over ${HEAD_LIMIT} bytes`)
      this.#start(new TextDecoder('latin1').decode(joined.subarray(0, end)))
      this.#head = new Uint8Array(0)
      bytes = joined.subarray(end + 4)
    }
    const body = this.#body as Uint8Array
    if (this.#used + bytes.length > body.length) throw refused(this.opts.url, `sent more than the ${body.length} bytes it announced`)
    if (bytes.length > 0) this.opts.copy(body, this.#used, bytes)
    this.#used += bytes.length
    return this.#used === body.length ? (this.#answer as RangeAnswer) : null
  }

  #start(head: string): void {
    const lines = head.split('\r\n')
    const status = /^HTTP\/1\.1 ([1-5][0-9]{2})(?: [^\r\n]*)?$/.exec(lines[0] as string)
    if (!status) throw refused(this.opts.url, 'sent something other than an HTTP/1.1 answer')
    const headers: Record<string, string> = {}
    for (const line of lines.slice(1)) {
      const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/.exec(line)
      if (!m) throw refused(this.opts.url, 'sent a malformed answer header')
      const name = (m[1] as string).toLowerCase()
      if (name in headers) throw refused(this.opts.url, `sent the ${name} header twice`)
      headers[name] = m[2] as string
    }
    const code = Number(status[1])
    if (headers['transfer-encoding'] !== undefined) throw refused(this.opts.url, 'sent a body without a length')
    const declared = headers['content-length']
    if (declared === undefined || !/^[0-9]{1,15}$/.test(declared)) throw refused(this.opts.url, 'sent an answer without a valid Content-Length')
    const length = Number(declared)
    if (code >= 200 && code < 300) {
      if (length !== this.into.length) throw refused(this.opts.url, `announced ${length} bytes for a range of ${this.into.length}`)
      this.#body = this.into
    } else if (code >= 400) {
      if (length > this.opts.errorLimit) throw refused(this.opts.url, `announced a ${length}-byte answer; at most ${this.opts.errorLimit} bytes are read`)
      this.#body = new Uint8Array(length)
    } else {
      throw refused(this.opts.url, `answered with status ${code}`)
    }
    this.keepAlive = !/(^|,)\s*close\s*(,|$)/i.test(headers.connection ?? '')
    this.#answer = { status: code, headers, body: this.#body }
  }
}

/** Where "\r\n\r\n" starts, or -1. */
function headEnd(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) return i
  }
  return -1
}
