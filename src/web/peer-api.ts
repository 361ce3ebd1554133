import express, { type NextFunction, type Request, type Response } from 'express'
import { bodyTooLarge, closed, inputInvalid, rateLimited } from '../core/errors.js'
import type { Logger } from '../core/ports/logger.js'
import type { Sodium } from '../core/ports/sodium.js'
import type { Clock } from '../core/ports/clock.js'
import { asNodeId, asPackId, type NodeId } from '../core/ids.js'
import { announcementToJson, base64Bytes, hexBytes, parseJson, pointerToJson, receiptToJson, verifyRequest, type Receipt } from '../core/protocol/index.js'
import { toBase64, toHex } from '../shared/bytes.js'
import type { PeerHandler } from '../app/storage-node/peer-handler.js'
import { PACK_BUFFERS } from '../app/storage-node/storage-service.js'
import { jsonErrors, notFound } from './json-errors.js'
import { BufferPool } from '../shared/buffer-pool.js'

/** Body limits per route (docs/PROTOCOL.md §6). */
export const LIMITS = {
  jsonBytes: 64 * 1024,
  ownerKeyBytes: 64 * 1024,
  /** Requests per address per second, and the burst allowed. */
  ratePerSecond: 50,
  rateBurst: 200,
}

export interface PeerApiDeps {
  sodium: Sodium
  clock: Clock
  log: Logger
  handler: PeerHandler
  maxObjectBytes: number
  maxBlobBytes: number
  /** How long an owner's objects stay without a renewal (POST /v1/lease). */
  leaseMs: number
}

/**
 * Writes `bytes` to the response and resolves once they are handed to the socket (TLS has
 * encrypted them): then the memory may be reused. Rejects with CLOSED when the client goes away
 * first (the write's callback never comes then).
 */
function writeFlushed(res: Response, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    if (res.destroyed) return reject(closed('the connection'))
    const gone = () => reject(closed('the connection'))
    res.once('close', gone)
    res.write(bytes, (err) => {
      res.off('close', gone)
      if (err) reject(err)
      else resolve()
    })
  })
}

const asyncRoute = (fn: (req: Request, res: Response) => Promise<void> | void) => (req: Request, res: Response, next: NextFunction) => {
  Promise.resolve()
    .then(() => fn(req, res))
    .catch(next)
}

/** A token bucket per remote address: bounds what one peer can make this node do. */
function rateLimiter(clock: Clock) {
  const buckets = new Map<string, { tokens: number; atMs: number }>()
  return (req: Request, _res: Response, next: NextFunction) => {
    const key = req.socket.remoteAddress ?? '?'
    const now = clock.nowMs()
    const b = buckets.get(key) ?? { tokens: LIMITS.rateBurst, atMs: now }
    b.tokens = Math.min(LIMITS.rateBurst, b.tokens + ((now - b.atMs) / 1000) * LIMITS.ratePerSecond)
    b.atMs = now
    buckets.set(key, b)
    if (buckets.size > 10_000) buckets.delete(buckets.keys().next().value as string)
    if (b.tokens < 1) return next(rateLimited())
    b.tokens -= 1
    next()
  }
}

type WithBody = Request & { raw?: Uint8Array; releaseRaw?: () => void }

/**
 * Reads the raw body up to limit bytes; larger is BODY_TOO_LARGE, cut short is INPUT_INVALID.
 * With a pool and a Content-Length, the body is read into pooled memory that the route gives
 * back with releaseBody() once nothing reads it any more (on a refusal here, at once).
 */
function rawBody(limit: number, pool?: BufferPool) {
  return (req: Request, _res: Response, next: NextFunction) => {
    const declared = req.headers['content-length']
    if (declared !== undefined && (!/^[0-9]{1,15}$/.test(declared) || Number(declared) > limit)) {
      req.resume()
      return next(/^[0-9]{1,15}$/.test(declared) ? bodyTooLarge(limit) : inputInvalid('Content-Length is malformed'))
    }
    const lease = pool && declared !== undefined && Number(declared) > 0 ? pool.take(Number(declared)) : null
    const parts: Buffer[] = []
    let size = 0
    let done = false
    const finish = (err?: unknown) => {
      if (done) return
      done = true
      if (err) {
        lease?.release()
        return next(err)
      }
      if (declared !== undefined && size !== Number(declared)) {
        lease?.release()
        return next(inputInvalid('the body ended before its Content-Length'))
      }
      if (lease) {
        ;(req as WithBody).raw = lease.bytes
        ;(req as WithBody).releaseRaw = lease.release
      } else {
        const body = Buffer.concat(parts, size)
        ;(req as WithBody).raw = new Uint8Array(body.buffer, body.byteOffset, body.byteLength)
      }
      next()
    }
    req.on('data', (chunk: Buffer) => {
      if (done) return
      if (size + chunk.length > (lease ? lease.bytes.length : limit)) {
        req.destroy()
        return finish(lease ? inputInvalid('the body is longer than its Content-Length') : bodyTooLarge(limit))
      }
      if (lease) lease.bytes.set(chunk, size)
      else parts.push(chunk)
      size += chunk.length
    })
    req.on('end', () => finish())
    req.on('aborted', () => finish(inputInvalid('the body ended before its Content-Length')))
    req.on('error', () => finish(inputInvalid('the request body could not be read')))
  }
}

/** Gives pooled body memory back (a no-op for bodies not pooled); the body must not be read after. */
const releaseBody = (req: Request): void => {
  const r = req as WithBody
  r.raw = new Uint8Array(0)
  r.releaseRaw?.()
}

const raw = (req: Request): Uint8Array => (req as WithBody).raw ?? new Uint8Array(0)

/**
 * The federation protocol over HTTPS, under /v1 (docs/PROTOCOL.md is normative). Every input is
 * untrusted: bodies are size-limited before they are read, JSON is validated field by field,
 * signatures and proofs are checked before anything changes, and errors leave as
 * { error: { code, message } } with the status from http-status.ts.
 */
export function createPeerApp(deps: PeerApiDeps): express.Express {
  const { sodium, clock, handler } = deps
  const app = express()
  app.disable('x-powered-by')
  app.disable('etag')
  app.set('query parser', 'simple')
  app.use(rateLimiter(clock))
  app.use((_req, res, next) => {
    res.set({ 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store' })
    next()
  })

  const signer = (req: Request): NodeId => verifyRequest(sodium, req.headers, req.method, req.originalUrl, sodium.sha256(raw(req)), clock.nowMs())
  const json = (req: Request) => parseJson(raw(req), 'the request body', LIMITS.jsonBytes)
  const header = (req: Request, name: string) => {
    const v = req.headers[name]
    if (typeof v !== 'string') throw inputInvalid(`the ${name} header is required`)
    return v
  }

  app.get('/v1/announcement', (_req, res) => {
    res.json(announcementToJson(handler.announcement()))
  })
  app.get('/v1/peers', (_req, res) => {
    res.json({ peers: handler.peers().map(announcementToJson) })
  })
  app.post('/v1/nonces', rawBody(0), (_req, res) => {
    const { nonce, expiresAtMs } = handler.issueNonce()
    res.status(201).json({ nonce: toHex(nonce), expiresAtMs })
  })
  app.put('/v1/owner-key', rawBody(LIMITS.ownerKeyBytes), asyncRoute((req, res) => {
    const owner = signer(req)
    res.json({ ownerNodeId: toHex(owner), sha256: toHex(handler.pinOwnerKey(owner, raw(req))) })
  }))
  // Object bodies (packs of ~16 MiB) are read into a few reused buffers: see BufferPool.
  const bodies = new BufferPool(PACK_BUFFERS)
  app.put('/v1/objects/:id', rawBody(deps.maxObjectBytes, bodies), asyncRoute(async (req, res) => {
    let receipt: Receipt
    try {
      const from = signer(req)
      receipt = await handler.store(from, {
        objectId: asPackId(hexBytes(req.params.id, 'the object id', 32)),
        ownerNodeId: asNodeId(hexBytes(header(req, 'quloud-owner'), 'quloud-owner', 32)),
        commitment: header(req, 'quloud-commitment'),
        merkleRoot: hexBytes(header(req, 'quloud-merkle-root'), 'quloud-merkle-root', 32),
        ownerKeySha256: hexBytes(header(req, 'quloud-owner-key-sha256'), 'quloud-owner-key-sha256', 32),
      }, raw(req))
    } finally {
      releaseBody(req)
    }
    res.status(201).json(receiptToJson(receipt))
  }))
  app.post('/v1/fetch-grants', rawBody(LIMITS.jsonBytes), asyncRoute(async (req, res) => {
    const grant = await handler.grantFetch(json(req))
    res.status(201).json({ ticket: toHex(grant.ticket), expiresAtMs: grant.expiresAtMs, objectIds: grant.objectIds.map(toHex) })
  }))
  app.get('/v1/objects/:id', asyncRoute(async (req, res) => {
    const objectId = asPackId(hexBytes(req.params.id, 'the object id', 32))
    const ticket = hexBytes(header(req, 'quloud-ticket'), 'quloud-ticket', 32)
    const rangeHeader = req.headers.range
    let range: { offset: number; length: number } | undefined
    if (rangeHeader !== undefined) {
      const m = /^bytes=([0-9]{1,15})-([0-9]{1,15})$/.exec(rangeHeader)
      if (!m || Number(m[2]) < Number(m[1])) throw inputInvalid('Range must be "bytes=first-last" with first <= last')
      range = { offset: Number(m[1]), length: Number(m[2]) - Number(m[1]) + 1 }
    }
    const { pieces, sizeBytes, offset, length } = await handler.read(objectId, ticket, range)
    res.status(range ? 206 : 200).set({ 'Content-Type': 'application/octet-stream', 'Content-Length': String(length), ...(range ? { 'Content-Range': `bytes ${offset}-${offset + length - 1}/${sizeBytes}` } : {}) })
    // Each piece is written and flushed before the next is asked for (back-pressure, and the
    // storage service reuses one buffer for every piece). Damage found midway cuts the response
    // short, which the client sees as a length mismatch (and the Merkle root would catch anyway).
    for await (const piece of pieces) await writeFlushed(res, piece)
    res.end()
  }))
  app.post('/v1/delete', rawBody(LIMITS.jsonBytes), asyncRoute(async (req, res) => {
    res.json({ deleted: (await handler.delete(json(req))).map(toHex) })
  }))
  app.post('/v1/audit', rawBody(LIMITS.jsonBytes), asyncRoute(async (req, res) => {
    const from = signer(req)
    const answers = await handler.audit(from, json(req))
    res.json({ answers: answers.map((a) => ({ objectId: toHex(a.objectId), sizeBytes: a.sizeBytes, proofs: a.proofs.map((p) => ({ leafIndex: p.leafIndex, leaf: toBase64(p.leaf), siblings: p.siblings.map(toHex) })) })) })
  }))

  app.post('/v1/lease', rawBody(0), (req, res) => {
    res.json(handler.renewLease(signer(req), deps.leaseMs))
  })

  app.post('/v1/peers', rawBody(LIMITS.jsonBytes), (req, res) => {
    const a = handler.learnPeer(json(req))
    res.status(202).json({ nodeId: toHex(a.nodeId), expiresAtMs: a.expiresAtMs })
  })
  const locatorOf = (req: Request) => hexBytes(req.params.locator, 'the locator', 32)
  app.get('/v1/pointers/:locator', (req, res) => {
    res.json(pointerToJson(handler.getPointer(locatorOf(req))))
  })
  app.put('/v1/pointers/:locator', rawBody(LIMITS.jsonBytes), (req, res) => {
    res.json({ seq: handler.putPointer(locatorOf(req), json(req)).seq })
  })
  app.get('/v1/blobs/:locator/:sha256', asyncRoute(async (req, res) => {
    const bytes = await handler.getBlob(locatorOf(req), hexBytes(req.params.sha256, 'the blob hash', 32))
    res.status(200).set({ 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.length) })
    res.end(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
  }))
  app.put('/v1/blobs/:locator/:sha256', rawBody(deps.maxBlobBytes), asyncRoute(async (req, res) => {
    const sha256 = hexBytes(req.params.sha256, 'the blob hash', 32)
    await handler.putBlob(locatorOf(req), sha256, base64Bytes(header(req, 'quloud-locator-signature'), 'quloud-locator-signature', 64, 64), raw(req))
    res.status(201).json({ sha256: toHex(sha256) })
  }))

  app.use(notFound('no such protocol route'))
  app.use(jsonErrors(deps.log))
  return app
}
