import { Agent, buildConnector, request, type ConnectorOptions } from './undici-parts.js'
import type { Readable } from 'node:stream'
import { connect as tlsConnect, type TLSSocket } from 'node:tls'
import type { Sodium } from '../../core/ports/sodium.js'
import type { Clock } from '../../core/ports/clock.js'
import type { NodeIdentity } from '../../core/identity.js'
import type { AuditAsk, PeerClient, ProvenRequest, RawPeer, StreamedBody } from '../../core/ports/peer-client.js'
import { asPackId, type NodeId, type PackId } from '../../core/ids.js'
import { BackupError, ERROR_CODES, InvariantError, invariant, signatureInvalid, type ErrorCode } from '../../core/errors.js'
import { announcementToJson, base64Bytes, hexBytes, integer, list, object, pointerToJson, signRequest, verifyAnnouncement, verifyPointer, verifyReceipt, type Announcement, type Receipt, type SignedPointer } from '../../core/protocol/index.js'
import type { MerkleProof } from '../../core/audit/index.js'
import { bytesEqual, shortHex, toBase64, toHex } from '../../shared/bytes.js'
import { RangeReader, certificateRefused, certificateSha256, unreachable, type CopyBytes } from './range-reader.js'

export interface PeerClientOptions {
  sodium: Sodium
  clock: Clock
  /** This node: signs stores, owner keys and audits. */
  identity: NodeIdentity
  /** A node id the peer must have (when known in advance, e.g. from discovery). */
  expectNodeId?: NodeId
  /** A certificate fingerprint already pinned for this peer. */
  pinnedCertSha256?: Uint8Array
  timeoutMs?: number
  retries?: number
  /**
   * Copies `source` into `target` at `offset` (as target.set(source, offset)). A fetched range
   * lands in shared memory, which V8 fills word by word: the native module's one memcpy took
   * 0.4 s of CPU per restored GiB off the restoring node (most of it its main thread).
   */
  copyBytes?: CopyBytes
}

export type { CopyBytes }

const setBytes: CopyBytes = (target, offset, source) => target.set(source, offset)

/**
 * The most a client reads of a peer's answer (docs/PROTOCOL.md §8): a peer's bytes are untrusted,
 * so an answer is never read without a bound. Ranges are read to exactly their length.
 */
export const ANSWER_LIMITS = { json: 4 * 1024 * 1024, object: 64 * 1024 * 1024, blob: 16 * 1024 * 1024, error: 64 * 1024 } as const

type Body = Pick<Readable, 'on' | 'once' | 'off' | 'destroy'>

/** Bodies above this go out in pieces of this size, each when the connection has taken the last. */
const BODY_PIECE_BYTES = 1024 * 1024

/**
 * A large body (a 16 MiB pack) handed to the socket whole is encrypted by TLS in one go, and the
 * ciphertext waits in native memory until the connection takes it: megabytes per upload, several
 * uploads at once. In pieces, only about one piece per upload is in memory at a time.
 *
 * Pieces go to undici as a plain async iterable, not a Readable: undici then asks for the next
 * piece only after the socket wrote the last one out or drained, with no read-ahead, which is what
 * lets a StreamedBody carry every piece in one buffer.
 */
function requestBody(body: Uint8Array | StreamedBody | undefined, headers: Record<string, string>): { body?: Buffer | Readable } {
  // undici takes any (async) iterable as a body (its docs and util.isIterable); its types list only Readable.
  const iterable = (pieces: AsyncIterable<Uint8Array>) => ({ body: pieces as unknown as Readable })
  if (!body) return {}
  if (!(body instanceof Uint8Array)) {
    headers['content-length'] = String(body.length)
    return iterable(exactly(body))
  }
  const whole = Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  if (whole.length <= BODY_PIECE_BYTES) return { body: whole }
  headers['content-length'] = String(whole.length)
  return iterable(
    (async function* () {
      for (let at = 0; at < whole.length; at += BODY_PIECE_BYTES) yield whole.subarray(at, at + BODY_PIECE_BYTES)
    })(),
  )
}

/** A streamed body's pieces, checked to add up to its declared length (a short body is a bug, never a short upload). */
async function* exactly(body: StreamedBody): AsyncGenerator<Uint8Array> {
  let sent = 0
  for await (const piece of body.pieces()) {
    sent += piece.length
    if (sent > body.length) break
    if (piece.length > 0) yield Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength)
  }
  invariant(sent === body.length, `a streamed body gave ${sent} of its ${body.length} bytes`)
}

/**
 * Bodies sent to several peers (a pack to each of its copies, and again on a retry) are hashed
 * once: the same buffer object gives the same hash. A caller that changed a buffer's bytes after
 * sending it would get a signature the peer refuses, never a wrong store.
 */
const bodyHashes = new WeakMap<Uint8Array, Uint8Array>()
const EMPTY = new Uint8Array(0)
function bodySha256(sodium: Sodium, body: Uint8Array | StreamedBody): Uint8Array {
  if (!(body instanceof Uint8Array)) return body.sha256
  if (body.length < 64 * 1024) return sodium.sha256(body)
  let sha = bodyHashes.get(body)
  if (!sha) bodyHashes.set(body, (sha = sodium.sha256(body)))
  return sha
}

/**
 * Reads an answer of at most `limit` bytes into one buffer, allocated once when the peer declares
 * Content-Length (no chunk list to join, no second copy), or `into` when the declared length is
 * exactly its size. Longer than the limit or than declared is PEER_REFUSED, and the connection is
 * dropped instead of drained. Each piece that arrives goes in with `copy`.
 */
export async function readAnswer(body: Body, declared: string | string[] | undefined, limit: number, url: string, into?: Uint8Array, copy: CopyBytes = setBytes): Promise<Uint8Array> {
  const length = typeof declared === 'string' && /^[0-9]{1,15}$/.test(declared) ? Number(declared) : -1
  const refuse = (why: string) => {
    body.destroy()
    return new BackupError('PEER_REFUSED', `peer ${url} ${why}`)
  }
  if (length > limit) throw refuse(`announced a ${length}-byte answer; at most ${limit} bytes are read`)
  // The caller's memory is used only for an answer of exactly its size (anything else is refused
  // by the caller's length check, read into fresh memory).
  let out = into && length === into.length ? into : new Uint8Array(length >= 0 ? length : Math.min(limit, 64 * 1024))
  let used = 0
  // Events, not an async iterator: a 4 MiB range arrives in hundreds of TLS records, and a promise
  // per record costs the owner more CPU than copying it.
  return new Promise<Uint8Array>((resolve, reject) => {
    const fail = (err: unknown) => {
      body.off('data', onData)
      reject(err)
    }
    const onData = (piece: Uint8Array) => {
      const end = used + piece.length
      if (end > limit) return fail(refuse(`sent more than ${limit} bytes`))
      if (length >= 0 && end > length) return fail(refuse(`sent more than the ${length} bytes it announced`))
      if (end > out.length) {
        const bigger = new Uint8Array(Math.min(limit, Math.max(out.length * 2, end)))
        bigger.set(out.subarray(0, used))
        out = bigger
      }
      copy(out, used, piece)
      used = end
    }
    body.on('data', onData)
    body.once('end', () => resolve(used === out.length ? out : out.subarray(0, used)))
    body.once('error', fail)
    // Closed without an end (settles nothing once the answer is complete).
    body.once('close', () => fail(new Error('the answer ended early')))
  })
}


/** PeerClient over HTTPS with undici 7, pinning the peer's self-signed certificate by SHA-256. */
export class HttpsPeerClient implements PeerClient, RawPeer {
  readonly url: string
  #nodeId: NodeId | null = null
  #pin: Uint8Array | null
  #agent: Agent
  /** The fingerprint the last connection presented (first contact, before a pin exists). */
  #seen: Uint8Array | null = null
  readonly #timeoutMs: number
  readonly #retries: number
  /** Reads into the caller's memory (a restore's ranges) on connections of their own. */
  readonly #ranges: RangeReader

  constructor(url: string, private readonly opts: PeerClientOptions) {
    const u = new URL(url)
    if (u.protocol !== 'https:' || u.pathname !== '/' || u.search || u.username) throw new BackupError('INPUT_INVALID', `a peer address is https://host:port (got ${url.slice(0, 80)})`)
    this.url = u.origin
    this.#pin = opts.pinnedCertSha256 ?? null
    this.#timeoutMs = opts.timeoutMs ?? 30_000
    this.#retries = opts.retries ?? 2
    this.#agent = this.#makeAgent()
    this.#ranges = new RangeReader({ url: this.url, pin: () => this.#pin, timeoutMs: this.#timeoutMs, copy: opts.copyBytes ?? setBytes, errorLimit: ANSWER_LIMITS.error })
  }

  get nodeId(): NodeId | null {
    return this.#nodeId
  }

  #makeAgent(): Agent {
    // Self-signed certificates: chain checks are off, and the pin (or, at first contact, the
    // signed announcement) decides instead.
    // No session resumption: a resumed session shows no certificate, and every connection must.
    const base = buildConnector({ rejectUnauthorized: false, minVersion: 'TLSv1.3', maxCachedSessions: 0, timeout: this.#timeoutMs } as ConnectorOptions)
    return new Agent({
      connect: (options, callback) => {
        base(options, (err, socket) => {
          if (err || !socket) return callback(err ?? new Error('no socket'), null)
          const sha = certificateSha256(socket as TLSSocket)
          if (!sha || (this.#pin && !bytesEqual(sha, this.#pin))) {
            socket.destroy()
            return callback(certificateRefused(this.url), null)
          }
          this.#seen = sha
          callback(null, socket)
        })
      },
      connectTimeout: this.#timeoutMs,
      headersTimeout: this.#timeoutMs,
      bodyTimeout: this.#timeoutMs,
      keepAliveTimeout: 10_000,
    })
  }

  async #call(method: 'GET' | 'POST' | 'PUT', path: string, { body, headers = {}, signed = false, idempotent = true, parse = 'json' as 'json' | 'bytes', limit = ANSWER_LIMITS.json, into } = {} as { body?: Uint8Array | StreamedBody; headers?: Record<string, string>; signed?: boolean; idempotent?: boolean; parse?: 'json' | 'bytes'; limit?: number; into?: Uint8Array }): Promise<{ status: number; json?: unknown; bytes?: Uint8Array; headers: Record<string, string | string[] | undefined> }> {
    if (!this.#nodeId && path !== '/v1/announcement') await this.announcement()
    const attempts = idempotent ? this.#retries + 1 : 1
    for (let attempt = 1; ; attempt++) {
      const payload = body ?? new Uint8Array(0)
      const h: Record<string, string> = { ...headers, ...(signed ? signRequest(this.opts.sodium, this.opts.identity, method, path, EMPTY, this.opts.clock.nowMs(), bodySha256(this.opts.sodium, payload)) : {}) }
      if (body) h['content-type'] ??= 'application/octet-stream'
      try {
        const res = await this.#send(method, path, h, body, limit, into)
        const data = res.body
        if (res.statusCode >= 400) throw this.#peerError(res.statusCode, data)
        if (parse === 'bytes') return { status: res.statusCode, bytes: data, headers: res.headers }
        try {
          return { status: res.statusCode, json: JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data)), headers: res.headers }
        } catch {
          throw new BackupError('PEER_REFUSED', `peer ${this.url} answered ${path} with something that is not JSON`)
        }
      } catch (err) {
        if (err instanceof InvariantError) throw err // a body that broke its contract: a bug here, not the peer
        const coded = err instanceof BackupError ? err : unreachable(this.url, err instanceof Error ? err.message : String(err))
        if (!(coded.code === 'PEER_UNREACHABLE' && attempt < attempts)) throw coded
        await new Promise((r) => setTimeout(r, 200 * 4 ** (attempt - 1)))
      }
    }
  }

  /** One request and its whole answer: a GET into the caller's memory on the range reader, anything else through undici. */
  async #send(method: 'GET' | 'POST' | 'PUT', path: string, headers: Record<string, string>, body: Uint8Array | StreamedBody | undefined, limit: number, into: Uint8Array | undefined): Promise<{ statusCode: number; headers: Record<string, string | string[] | undefined>; body: Uint8Array }> {
    if (method === 'GET' && into && !body && into.length <= limit) {
      const answer = await this.#ranges.get(path, headers, into)
      return { statusCode: answer.status, headers: answer.headers, body: answer.body }
    }
    const res = await request(`${this.url}${path}`, { method, headers, ...requestBody(body, headers), dispatcher: this.#agent })
    const data = await readAnswer(res.body, res.headers['content-length'], res.statusCode >= 400 ? ANSWER_LIMITS.error : limit, this.url, res.statusCode >= 400 ? undefined : into, this.opts.copyBytes)
    return { statusCode: res.statusCode, headers: res.headers, body: data }
  }

  #peerError(status: number, data: Uint8Array): BackupError {
    let code: unknown
    let message: unknown
    try {
      const e = JSON.parse(new TextDecoder().decode(data)).error
      code = e?.code
      message = e?.message
    } catch {
      // not our error format
    }
    const text = typeof message === 'string' ? message.slice(0, 300) : `HTTP ${status}`
    if (typeof code === 'string' && (ERROR_CODES as readonly string[]).includes(code)) return new BackupError(code as ErrorCode, `peer ${this.url}: ${text}`, { retryable: code === 'RATE_LIMITED' })
    return new BackupError('PEER_REFUSED', `peer ${this.url} refused: ${typeof code === 'string' ? code.slice(0, 40) : ''} ${text}`)
  }

  async announcement(): Promise<Announcement> {
    const { json } = await this.#call('GET', '/v1/announcement')
    const a = verifyAnnouncement(this.opts.sodium, json, this.opts.clock.nowMs())
    if (this.opts.expectNodeId && !bytesEqual(a.nodeId, this.opts.expectNodeId)) throw signatureInvalid(`peer ${this.url} is node ${shortHex(a.nodeId)}, not the expected ${shortHex(this.opts.expectNodeId)}`)
    if (this.#nodeId && !bytesEqual(a.nodeId, this.#nodeId)) throw signatureInvalid(`peer ${this.url} changed its node id`)
    const served = this.#pin ?? this.#seen
    if (!served || !bytesEqual(served, a.certSha256)) throw signatureInvalid(`peer ${this.url} serves a TLS certificate its announcement does not vouch for`)
    this.#nodeId = a.nodeId
    this.#pin = a.certSha256
    return a
  }

  async peers(): Promise<Announcement[]> {
    const { json } = await this.#call('GET', '/v1/peers')
    const o = object(json, 'the peer list', ['peers'])
    const out: Announcement[] = []
    for (const raw of list(o.peers, 'peers', 0, 1000, (v) => v)) {
      try {
        out.push(verifyAnnouncement(this.opts.sodium, raw, this.opts.clock.nowMs()))
      } catch {
        // one bad entry does not spoil the others
      }
    }
    return out
  }

  async nonce(): Promise<Uint8Array> {
    const { json } = await this.#call('POST', '/v1/nonces', { idempotent: false })
    return hexBytes(object(json, 'the nonce answer', ['nonce', 'expiresAtMs']).nonce, 'nonce', 31)
  }

  async putOwnerKey(keyBytes: Uint8Array): Promise<Uint8Array> {
    const { json } = await this.#call('PUT', '/v1/owner-key', { body: keyBytes, headers: { 'content-type': 'application/json' }, signed: true })
    const sha = hexBytes(object(json, 'the owner-key answer', ['ownerNodeId', 'sha256']).sha256, 'sha256', 32)
    if (!bytesEqual(sha, this.opts.sodium.sha256(keyBytes))) throw new BackupError('PEER_REFUSED', `peer ${this.url} pinned a key with another hash`)
    return sha
  }

  async store(o: { objectId: PackId; ownerNodeId: NodeId; commitment: string; merkleRoot: Uint8Array; ownerKeySha256: Uint8Array; bytes: Uint8Array | StreamedBody }): Promise<Receipt> {
    const { json } = await this.#call('PUT', `/v1/objects/${toHex(o.objectId)}`, {
      body: o.bytes,
      signed: true,
      headers: { 'quloud-owner': toHex(o.ownerNodeId), 'quloud-commitment': o.commitment, 'quloud-merkle-root': toHex(o.merkleRoot), 'quloud-owner-key-sha256': toHex(o.ownerKeySha256) },
    })
    return verifyReceipt(this.opts.sodium, json, { storageNodeId: this.#nodeId as NodeId, objectId: o.objectId, sizeBytes: o.bytes.length, merkleRoot: o.merkleRoot })
  }

  #proven(req: ProvenRequest): Uint8Array {
    return new TextEncoder().encode(JSON.stringify({ nonce: toHex(req.nonce), objectIds: req.objectIds.map(toHex), proof: req.proof }))
  }

  async grantFetch(req: ProvenRequest): Promise<{ ticket: Uint8Array; expiresAtMs: number }> {
    const { json } = await this.#call('POST', '/v1/fetch-grants', { body: this.#proven(req), headers: { 'content-type': 'application/json' }, idempotent: false })
    const o = object(json, 'the fetch grant', ['ticket', 'expiresAtMs', 'objectIds'])
    return { ticket: hexBytes(o.ticket, 'ticket', 32), expiresAtMs: integer(o.expiresAtMs, 'expiresAtMs', 0, Number.MAX_SAFE_INTEGER) }
  }

  async fetch(objectId: PackId, ticket: Uint8Array, range?: { offset: number; length: number; into?: Uint8Array }): Promise<Uint8Array> {
    const headers: Record<string, string> = { 'quloud-ticket': toHex(ticket) }
    if (range) headers.range = `bytes=${range.offset}-${range.offset + range.length - 1}`
    if (range?.into && range.into.length !== range.length) throw new BackupError('INPUT_INVALID', 'a range is read into exactly its length of memory')
    const { bytes } = await this.#call('GET', `/v1/objects/${toHex(objectId)}`, { headers, parse: 'bytes', limit: range ? range.length : ANSWER_LIMITS.object, ...(range?.into ? { into: range.into } : {}) })
    const data = bytes as Uint8Array
    if (range && data.length !== range.length) throw new BackupError('PEER_REFUSED', `peer ${this.url} sent ${data.length} bytes for a range of ${range.length}`)
    return data
  }

  async delete(req: ProvenRequest): Promise<PackId[]> {
    const { json } = await this.#call('POST', '/v1/delete', { body: this.#proven(req), headers: { 'content-type': 'application/json' }, idempotent: false })
    return list(object(json, 'the delete answer', ['deleted']).deleted, 'deleted', 0, 1000, (v, w) => asPackId(hexBytes(v, w, 32)))
  }

  async audit(objectId: PackId, leafIndices: number[]): Promise<{ sizeBytes: number; proofs: MerkleProof[] }> {
    const [answer] = await this.auditMany([{ objectId, leafIndices }])
    return { sizeBytes: (answer as { sizeBytes: number }).sizeBytes, proofs: (answer as { proofs: MerkleProof[] }).proofs }
  }

  async auditMany(asks: AuditAsk[]): Promise<Array<{ objectId: PackId; sizeBytes: number; proofs: MerkleProof[] }>> {
    const objects = asks.map((a) => ('seed' in a ? { objectId: toHex(a.objectId), seed: toHex(a.seed), count: a.count } : { objectId: toHex(a.objectId), leafIndices: a.leafIndices }))
    const { json } = await this.#call('POST', '/v1/audit', { body: new TextEncoder().encode(JSON.stringify({ objects })), headers: { 'content-type': 'application/json' }, signed: true })
    const answers = list(object(json, 'the audit answer', ['answers']).answers, 'answers', asks.length, asks.length, (v, w) => {
      const a = object(v, w, ['objectId', 'sizeBytes', 'proofs'])
      return {
        objectId: asPackId(hexBytes(a.objectId, `${w}.objectId`, 32)),
        sizeBytes: integer(a.sizeBytes, `${w}.sizeBytes`, 1, Number.MAX_SAFE_INTEGER),
        proofs: list(a.proofs, `${w}.proofs`, 0, 1000, (pv, pw) => {
          const p = object(pv, pw, ['leafIndex', 'leaf', 'siblings'])
          return { leafIndex: integer(p.leafIndex, `${pw}.leafIndex`, 0, Number.MAX_SAFE_INTEGER), leaf: base64Bytes(p.leaf, `${pw}.leaf`, 1, 4096), siblings: list(p.siblings, `${pw}.siblings`, 0, 64, (x, xw) => hexBytes(x, xw, 32)) }
        }),
      }
    })
    answers.forEach((a, i) => {
      if (!bytesEqual(a.objectId, (asks[i] as AuditAsk).objectId)) throw new BackupError('PEER_REFUSED', `peer ${this.url} answered an audit for another object`)
    })
    return answers
  }

  async renewLease(): Promise<{ renewedAtMs: number; expiresAtMs: number }> {
    const { json } = await this.#call('POST', '/v1/lease', { signed: true })
    const o = object(json, 'the lease', ['renewedAtMs', 'expiresAtMs'])
    return { renewedAtMs: integer(o.renewedAtMs, 'renewedAtMs', 0, Number.MAX_SAFE_INTEGER), expiresAtMs: integer(o.expiresAtMs, 'expiresAtMs', 0, Number.MAX_SAFE_INTEGER) }
  }

  async announce(announcement: Announcement): Promise<void> {
    await this.#call('POST', '/v1/peers', { body: new TextEncoder().encode(JSON.stringify(announcementToJson(announcement))), headers: { 'content-type': 'application/json' } })
  }

  async getPointer(locator: Uint8Array): Promise<SignedPointer> {
    const { json } = await this.#call('GET', `/v1/pointers/${toHex(locator)}`)
    return verifyPointer(this.opts.sodium, json, locator)
  }

  async putPointer(pointer: SignedPointer): Promise<void> {
    await this.#call('PUT', `/v1/pointers/${toHex(pointer.locator)}`, { body: new TextEncoder().encode(JSON.stringify(pointerToJson(pointer))), headers: { 'content-type': 'application/json' } })
  }

  async getBlob(locator: Uint8Array, sha256: Uint8Array): Promise<Uint8Array> {
    const { bytes } = await this.#call('GET', `/v1/blobs/${toHex(locator)}/${toHex(sha256)}`, { parse: 'bytes', limit: ANSWER_LIMITS.blob })
    if (!bytesEqual(this.opts.sodium.sha256(bytes as Uint8Array), sha256)) throw new BackupError('OBJECT_CORRUPT', `peer ${this.url} sent a blob that does not match its SHA-256`)
    return bytes as Uint8Array
  }

  async putBlob(locator: Uint8Array, signature: Uint8Array, bytes: Uint8Array): Promise<Uint8Array> {
    const sha256 = this.opts.sodium.sha256(bytes)
    await this.#call('PUT', `/v1/blobs/${toHex(locator)}/${toHex(sha256)}`, { body: bytes, headers: { 'quloud-locator-signature': toBase64(signature) } })
    return sha256
  }

  async request(method: 'GET' | 'POST' | 'PUT', path: string, { body, headers = {}, signed = false }: { body?: Uint8Array; headers?: Record<string, string>; signed?: boolean } = {}): Promise<{ status: number; errorCode: string | null; body: Uint8Array }> {
    if (!this.#nodeId) await this.announcement()
    const payload = body ?? new Uint8Array(0)
    const h = { ...headers, ...(signed ? signRequest(this.opts.sodium, this.opts.identity, method, path, payload, this.opts.clock.nowMs(), bodySha256(this.opts.sodium, payload)) : {}) }
    try {
      const res = await request(`${this.url}${path}`, { method, headers: h, ...requestBody(body, h), dispatcher: this.#agent })
      const data = await readAnswer(res.body, res.headers['content-length'], ANSWER_LIMITS.object, this.url)
      let errorCode: string | null = null
      if (res.statusCode >= 400) {
        try {
          const code = JSON.parse(new TextDecoder().decode(data))?.error?.code
          errorCode = typeof code === 'string' ? code.slice(0, 40) : null
        } catch {
          // not an error body
        }
      }
      return { status: res.statusCode, errorCode, body: data }
    } catch (err) {
      throw err instanceof BackupError ? err : unreachable(this.url, err instanceof Error ? err.message : String(err))
    }
  }

  async tlsProbe(): Promise<{ negotiated: string; acceptsTls12: boolean }> {
    const u = new URL(this.url)
    const handshake = (maxVersion?: 'TLSv1.2') =>
      new Promise<string | null>((resolve) => {
        const s = tlsConnect({ host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port), rejectUnauthorized: false, ...(maxVersion ? { maxVersion } : {}) }, () => {
          resolve(s.getProtocol())
          s.end()
        })
        s.setTimeout(this.#timeoutMs, () => s.destroy())
        s.on('error', () => resolve(null))
      })
    return { negotiated: (await handshake()) ?? 'none', acceptsTls12: (await handshake('TLSv1.2')) !== null }
  }

  async close(): Promise<void> {
    await this.#ranges.close()
    await this.#agent.close()
  }
}
