import test from 'ava'
import { createServer, type TLSSocket } from 'node:tls'
import type { AddressInfo } from 'node:net'
import { randomFillSync } from 'node:crypto'
import { BackupError } from '../../core/errors.js'
import { makeSelfSignedCert, type TlsMaterial } from '../tls/self-signed-cert.js'
import { RangeReader, type CopyBytes } from './range-reader.js'

/** What the test server does with one request: `conn` counts connections, `nth` requests on this one. */
type Answer = (req: { path: string; headers: Record<string, string>; conn: number; nth: number }, socket: TLSSocket) => void

const material = makeSelfSignedCert({ validDays: 1 })
const other = makeSelfSignedCert({ validDays: 1 })

/** A real TLS server on 127.0.0.1 that reads HTTP/1.1 requests and answers them with raw bytes. */
async function server(t: { teardown: (fn: () => void) => void }, answer: Answer): Promise<{ url: string; tls: TlsMaterial; connections: () => number; closed: () => number }> {
  const tls = await material
  let connections = 0
  let closed = 0
  const srv = createServer({ cert: tls.certPem, key: tls.keyPem, minVersion: 'TLSv1.3' }, (socket) => {
    const conn = connections++
    let nth = 0
    let pending = ''
    socket.on('close', () => closed++)
    socket.on('error', () => {})
    socket.on('data', (d: Buffer) => {
      pending += d.toString('latin1')
      for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
        const [line, ...rest] = pending.slice(0, end).split('\r\n')
        pending = pending.slice(end + 4)
        const headers = Object.fromEntries(rest.map((h) => [h.slice(0, h.indexOf(':')).toLowerCase(), h.slice(h.indexOf(':') + 1).trim()]))
        answer({ path: (line as string).split(' ')[1] as string, headers, conn, nth: nth++ }, socket)
      }
    })
  })
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  t.teardown(() => srv.close())
  return { url: `https://127.0.0.1:${(srv.address() as AddressInfo).port}`, tls, connections: () => connections, closed: () => closed }
}

const reader = (url: string, pin: Uint8Array, extra: { copy?: CopyBytes; timeoutMs?: number } = {}) =>
  new RangeReader({ url, pin: () => pin, timeoutMs: extra.timeoutMs ?? 10_000, copy: extra.copy ?? ((target, offset, source) => target.set(source, offset)), errorLimit: 64 * 1024 })

/** The bytes of an object the test server keeps: byte i is i mod 251. */
const objectBytes = (from: number, length: number) => Uint8Array.from({ length }, (_, i) => (from + i) % 251)

const ranged: Answer = (req, socket) => {
  const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '') as RegExpExecArray
  const from = Number(m[1])
  const body = objectBytes(from, Number(m[2]) - from + 1)
  socket.write(`HTTP/1.1 206 Partial Content\r\ncontent-type: application/octet-stream\r\ncontent-length: ${body.length}\r\n\r\n`)
  // In pieces, so an answer spans several TLS records and reads.
  for (let at = 0; at < body.length; at += 100_000) socket.write(body.subarray(at, at + 100_000))
}

test('answers land in the memory given, through the copy given, and one kept-alive connection serves every request in turn', async (t) => {
  const s = await server(t, ranged)
  let copies = 0
  const r = reader(s.url, s.tls.sha256, {
    copy: (target, offset, source) => {
      copies++
      target.set(source, offset)
    },
  })
  t.teardown(() => r.close())
  for (const [from, length] of [[0, 1], [5, 16_385], [1000, 1024 * 1024 + 5], [7, 3]] as const) {
    const into = new Uint8Array(new SharedArrayBuffer(length))
    const answer = await r.get('/v1/objects/ab', { range: `bytes=${from}-${from + length - 1}`, 'quloud-ticket': '00' }, into)
    t.is(answer.status, 206)
    t.is(answer.body, into)
    t.is(answer.headers['content-length'], String(length))
    t.deepEqual(new Uint8Array(into), objectBytes(from, length))
  }
  t.is(s.connections(), 1)
  t.true(copies > 4)
})

test('an error answer comes back with its body; an answer with Connection: close is not reused', async (t) => {
  const s = await server(t, (req, socket) => {
    const body = Buffer.from(JSON.stringify({ error: { code: 'PROOF_REJECTED', message: `no ticket for ${req.path}` } }))
    socket.write(`HTTP/1.1 403 Forbidden\r\ncontent-length: ${body.length}\r\n${req.nth === 0 && req.conn === 0 ? 'connection: close\r\n' : ''}\r\n`)
    socket.end(body)
  })
  const r = reader(s.url, s.tls.sha256)
  t.teardown(() => r.close())
  const into = new Uint8Array(10)
  const first = await r.get('/v1/objects/cd', {}, into)
  t.is(first.status, 403)
  t.not(first.body, into)
  t.regex(new TextDecoder().decode(first.body), /PROOF_REJECTED.*\/v1\/objects\/cd/)
  t.true(into.every((b) => b === 0), 'the caller’s memory is not written with an error')
  await r.get('/v1/objects/cd', {}, into)
  t.is(s.connections(), 2)
})

const malformed: Array<[string, string | Uint8Array, RegExp]> = [
  ['more bytes than announced', 'HTTP/1.1 206 x\r\ncontent-length: 4\r\n\r\n12345', /more than the 4 bytes/],
  ['a length other than the range', 'HTTP/1.1 206 x\r\ncontent-length: 3\r\n\r\n123', /announced 3 bytes for a range of 4/],
  ['no length', 'HTTP/1.1 206 x\r\ncontent-type: a/b\r\n\r\n1234', /without a valid Content-Length/],
  ['a length that is not a number', 'HTTP/1.1 206 x\r\ncontent-length: 4x\r\n\r\n1234', /without a valid Content-Length/],
  ['a chunked body', 'HTTP/1.1 206 x\r\ntransfer-encoding: chunked\r\ncontent-length: 4\r\n\r\n1234', /without a length/],
  ['the length twice', 'HTTP/1.1 206 x\r\ncontent-length: 4\r\ncontent-length: 4\r\n\r\n1234', /content-length header twice/],
  ['a malformed header', 'HTTP/1.1 206 x\r\ncontent length: 4\r\n\r\n1234', /malformed answer header/],
  ['HTTP/1.0', 'HTTP/1.0 200 OK\r\ncontent-length: 4\r\n\r\n1234', /other than an HTTP\/1.1 answer/],
  ['something else', 'SSH-2.0-OpenSSH\r\n\r\n', /other than an HTTP\/1.1 answer/],
  ['a redirect', 'HTTP/1.1 302 Found\r\nlocation: /x\r\ncontent-length: 0\r\n\r\n', /status 302/],
  ['an error body over the limit', `HTTP/1.1 500 x\r\ncontent-length: ${64 * 1024 + 1}\r\n\r\n`, /at most 65536 bytes/],
  ['a head over 16 KiB', `HTTP/1.1 206 x\r\nx-pad: ${'a'.repeat(17 * 1024)}\r\ncontent-length: 4\r\n\r\n1234`, /head over 16384 bytes/],
  ['a head over 16 KiB without its end', `HTTP/1.1 206 x\r\nx-pad: ${'a'.repeat(17 * 1024)}`, /head over 16384 bytes/],
]

for (const [what, bytes, message] of malformed) {
  test(`an answer with ${what} is PEER_REFUSED and its connection closed`, async (t) => {
    const s = await server(t, (_req, socket) => void socket.write(bytes))
    const r = reader(s.url, s.tls.sha256)
    t.teardown(() => r.close())
    await t.throwsAsync(r.get('/v1/objects/ef', {}, new Uint8Array(4)), { instanceOf: BackupError, code: 'PEER_REFUSED', message })
    await new Promise((resolve) => setTimeout(resolve, 100))
    t.is(s.closed(), 1, 'the connection is not kept')
  })
}

test('a peer presenting another certificate than the pinned one is SIGNATURE_INVALID, and no request is sent', async (t) => {
  let requests = 0
  const s = await server(t, () => void requests++)
  const r = reader(s.url, (await other).sha256)
  t.teardown(() => r.close())
  await t.throwsAsync(r.get('/v1/objects/01', {}, new Uint8Array(1)), { instanceOf: BackupError, code: 'SIGNATURE_INVALID' })
  t.is(requests, 0)
})

test('a kept-alive connection the peer closed before answering is replaced at once; one cut mid-answer is PEER_UNREACHABLE', async (t) => {
  const s = await server(t, (req, socket) => {
    if (req.conn === 0 && req.nth === 1) return void socket.destroy() // the idle close racing the next request
    if (req.headers['x-cut']) {
      socket.write('HTTP/1.1 206 x\r\ncontent-length: 1000\r\n\r\n')
      socket.write(new Uint8Array(10))
      return void setTimeout(() => socket.destroy(), 50)
    }
    ranged(req, socket)
  })
  const r = reader(s.url, s.tls.sha256)
  t.teardown(() => r.close())
  const into = new Uint8Array(100)
  await r.get('/a', { range: 'bytes=0-99' }, into)
  await r.get('/a', { range: 'bytes=1-100' }, into)
  t.deepEqual(into, objectBytes(1, 100))
  t.is(s.connections(), 2)
  await t.throwsAsync(r.get('/a', { 'x-cut': '1' }, new Uint8Array(1000)), { instanceOf: BackupError, code: 'PEER_UNREACHABLE', message: /closed before the answer was complete/ })
})

test('a peer that does not answer in time is PEER_UNREACHABLE; a closed reader sends nothing', async (t) => {
  const s = await server(t, () => {})
  const r = reader(s.url, s.tls.sha256, { timeoutMs: 300 })
  await t.throwsAsync(r.get('/slow', {}, new Uint8Array(1)), { instanceOf: BackupError, code: 'PEER_UNREACHABLE', message: /no answer for 300 ms/ })
  await r.close()
  await t.throwsAsync(r.get('/slow', {}, new Uint8Array(1)), { instanceOf: BackupError, code: 'PEER_UNREACHABLE', message: /closed/ })
})

test('random answers of many sizes arrive exactly', async (t) => {
  const blob = randomFillSync(new Uint8Array(3 * 1024 * 1024))
  const s = await server(t, (req, socket) => {
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '') as RegExpExecArray
    const body = blob.subarray(Number(m[1]), Number(m[2]) + 1)
    socket.write(Buffer.concat([Buffer.from(`HTTP/1.1 206 x\r\ncontent-length: ${body.length}\r\n\r\n`), body]))
  })
  const r = reader(s.url, s.tls.sha256)
  t.teardown(() => r.close())
  const reads = Array.from({ length: 12 }, (_, i) => {
    const from = (i * 104_729) % (blob.length / 2)
    const length = 1 + ((i * 7919 * 13) % (blob.length / 2))
    return { from, length }
  })
  // Several at once: each on a connection of its own.
  await Promise.all(
    reads.map(async ({ from, length }) => {
      const into = new Uint8Array(length)
      await r.get('/b', { range: `bytes=${from}-${from + length - 1}` }, into)
      t.deepEqual(into, blob.subarray(from, from + length))
    }),
  )
})
