import test from 'ava'
import { Readable } from 'node:stream'
import { BackupError } from '../../core/errors.js'
import { readAnswer } from './https-peer-client.js'

const pieces = (...sizes: number[]) => sizes.map((n, i) => new Uint8Array(n).fill(i + 1))
const body = (parts: Uint8Array[]) => Readable.from(parts, { objectMode: true })
const url = 'https://127.0.0.1:1'

test('an answer is read whole, with or without Content-Length, byte for byte', async (t) => {
  const parts = pieces(3, 70_000, 5)
  const expected = Buffer.concat(parts)
  t.deepEqual(Buffer.from(await readAnswer(body(parts), String(expected.length), 1 << 20, url)), expected)
  t.deepEqual(Buffer.from(await readAnswer(body(parts), undefined, 1 << 20, url)), expected)
  t.is((await readAnswer(body([]), '0', 10, url)).length, 0)
})

test('a peer announcing or sending more than the limit is refused and its stream dropped', async (t) => {
  const announced = body(pieces(10))
  await t.throwsAsync(readAnswer(announced, '11', 10, url), { instanceOf: BackupError, code: 'PEER_REFUSED', message: /announced a 11-byte answer/ })
  t.true(announced.destroyed)
  const unannounced = body(pieces(8, 8))
  await t.throwsAsync(readAnswer(unannounced, undefined, 10, url), { instanceOf: BackupError, code: 'PEER_REFUSED', message: /more than 10 bytes/ })
  t.true(unannounced.destroyed)
  const lying = body(pieces(4, 4))
  await t.throwsAsync(readAnswer(lying, '5', 100, url), { instanceOf: BackupError, code: 'PEER_REFUSED', message: /more than the 5 bytes it announced/ })
  t.true(lying.destroyed)
})

test('a stream that fails or closes before its end rejects; nothing half read is returned', async (t) => {
  const failing = new Readable({ read() {} })
  failing.push(new Uint8Array(5))
  setImmediate(() => failing.destroy(new Error('connection reset (test)')))
  await t.throwsAsync(readAnswer(failing, '10', 100, url), { message: /connection reset/ })
  const cut = new Readable({ read() {} })
  cut.push(new Uint8Array(5))
  setImmediate(() => cut.destroy())
  await t.throwsAsync(readAnswer(cut, '10', 100, url), { message: /ended early/ })
})

test('the pieces of an answer of exactly its size land in the caller’s shared memory through the copy given', async (t) => {
  const parts = pieces(3, 70_000, 5)
  const expected = Buffer.concat(parts)
  const into = new Uint8Array(new SharedArrayBuffer(expected.length))
  const copied: Array<[number, number]> = []
  const copy = (target: Uint8Array, offset: number, source: Uint8Array) => {
    copied.push([offset, source.length])
    target.set(source, offset)
  }
  const got = await readAnswer(body(parts), String(expected.length), 1 << 20, url, into, copy)
  t.is(got, into)
  t.deepEqual(Buffer.from(into), expected)
  t.deepEqual(copied, [[0, 3], [3, 70_000], [70_003, 5]])
})
