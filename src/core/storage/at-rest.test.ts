import test from 'ava'
import fc from 'fast-check'
import { AT_REST_HEADER_BYTES, AT_REST_RECORD_BYTES, atRestBytes, openAtRest, openAtRestRange, parseAtRestHeader, recordSpan, sealAtRest } from './at-rest.js'
import SodiumNative from 'sodium-native'
import { createCipheriv } from 'node:crypto'
import type { Sodium } from '../ports/sodium.js'
import { u64LE, utf8 } from '../../shared/bytes.js'
import { hex, sampleBytes, sodium } from '../../../test/helpers/index.js'

const key = sampleBytes(1, 32)
const id = sampleBytes(2, 32)
const plain = sampleBytes(3, 3 * AT_REST_RECORD_BYTES + 1234)

const range = (stored: Uint8Array, objectId: Uint8Array, offset: number, length: number) => {
  const header = parseAtRestHeader(stored, 'obj')
  const span = recordSpan(header.plainBytes, offset, length)
  return openAtRestRange(sodium, key, objectId, 'obj', header, stored.subarray(span.byteOffset, span.byteOffset + span.byteLength), offset, length)
}
const corrupt = { code: 'OBJECT_CORRUPT' } as const
/** The test's Sodium with another AES-256-GCM (or none): a CPU without AES instructions, a build without it. */
const withAesGcm = (aesGcm: Sodium['aesGcm']): Sodium =>
  new Proxy(sodium, { get: (target, prop) => (prop === 'aesGcm' ? aesGcm : typeof Reflect.get(target, prop) === 'function' ? Reflect.get(target, prop).bind(target) : Reflect.get(target, prop)) })

test('known answer, version 1: fixed key, id, prefix and bytes give fixed stored bytes', (t) => {
  const stored = sealAtRest(sodium, key, id, sampleBytes(4, AT_REST_RECORD_BYTES + 100), { prefix: sampleBytes(5, 16), version: 1 })
  t.is(stored.length, AT_REST_HEADER_BYTES + AT_REST_RECORD_BYTES + 100 + 32)
  t.is(hex(stored.subarray(0, 16)), '514c53310110000064000100000000' + '00')
  t.is(hex(sodium.sha256(stored)), '3f71a176aa9528307831c777b55517923eafc610677bbea6b3c622b6d28c6226')
  // Record 1 recomputed with libsodium directly, from the layout in docs/FORMAT.md §9.
  const nonce = Buffer.concat([sampleBytes(5, 16), u64LE(1)])
  const ad = Buffer.concat([utf8('quloud:at-rest:v1'), id, u64LE(AT_REST_RECORD_BYTES + 100), u64LE(1)])
  const record = Buffer.alloc(100 + 16)
  SodiumNative.crypto_aead_xchacha20poly1305_ietf_encrypt(record, sampleBytes(4, AT_REST_RECORD_BYTES + 100).subarray(AT_REST_RECORD_BYTES), ad, null, nonce, key)
  t.is(hex(stored.subarray(AT_REST_HEADER_BYTES + AT_REST_RECORD_BYTES + 16)), hex(record))
})

test('known answer, version 2: each record is AES-256-GCM under a key for its object alone, its index the nonce', (t) => {
  const small = sampleBytes(4, AT_REST_RECORD_BYTES + 100)
  const prefix = sampleBytes(5, 16)
  const stored = sealAtRest(sodium, key, id, small, { prefix, version: 2 })
  t.is(hex(stored.subarray(0, 16)), '514c53310210000064000100000000' + '00')
  // Both records recomputed with node:crypto and libsodium directly, from the layout in docs/FORMAT.md §9.
  const objectKey = Buffer.alloc(32)
  SodiumNative.crypto_generichash(objectKey, Buffer.concat([utf8('quloud:at-rest:v2:key'), prefix]), Buffer.from(key))
  const expected = [0, 1].map((i) => {
    const c = createCipheriv('aes-256-gcm', objectKey, Buffer.concat([u64LE(i), Buffer.alloc(4)]))
    c.setAAD(Buffer.concat([utf8('quloud:at-rest:v2'), id, u64LE(small.length), u64LE(i)]))
    return Buffer.concat([c.update(small.subarray(i * AT_REST_RECORD_BYTES, (i + 1) * AT_REST_RECORD_BYTES)), c.final(), c.getAuthTag()])
  })
  t.is(hex(stored.subarray(AT_REST_HEADER_BYTES)), hex(Buffer.concat(expected)))
  t.deepEqual(openAtRest(sodium, key, id, 'obj', stored), small)
})

test('a node writes version 2 only where its CPU has AES instructions, and reads both versions either way', (t) => {
  const gcm = sodium.aesGcm as NonNullable<typeof sodium.aesGcm>
  const v1 = sealAtRest(sodium, key, id, plain, { version: 1 })
  const v2 = sealAtRest(sodium, key, id, plain, { version: 2 })
  t.is(sealAtRest(sodium, key, id, plain)[4], gcm.inHardware ? 2 : 1)
  const withoutHardware = withAesGcm({ ...gcm, inHardware: false })
  t.is(sealAtRest(withoutHardware, key, id, plain)[4], 1)
  for (const reader of [sodium, withoutHardware]) {
    t.deepEqual(openAtRest(reader, key, id, 'obj', v1), plain)
    t.deepEqual(openAtRest(reader, key, id, 'obj', v2), plain)
  }
  // Read as the other version (another cipher, another key), either object fails authentication.
  for (const stored of [v1, v2]) {
    const other = stored.slice()
    other[4] = 3 - (other[4] as number)
    t.throws(() => openAtRest(sodium, key, id, 'obj-2', other), { code: 'OBJECT_CORRUPT', message: /obj-2/ })
  }
  const withoutGcm = withAesGcm(undefined)
  t.throws(() => openAtRest(withoutGcm, key, id, 'obj-3', v2), { code: 'OBJECT_CORRUPT', message: /version 2/ })
})

for (const version of [1, 2] as const) {
  test(`sealing into reused memory full of old bytes gives exactly the bytes a fresh buffer gets (version ${version})`, (t) => {
    const prefix = sampleBytes(9, 16)
    const fresh = sealAtRest(sodium, key, id, plain, { prefix, version })
    const dirty = new Uint8Array(atRestBytes(plain.length)).fill(0xa5)
    const out = sealAtRest(sodium, key, id, plain, { prefix, into: dirty, version })
    t.is(out, dirty, 'written in place')
    t.deepEqual(out, fresh)
    t.deepEqual(openAtRest(sodium, key, id, 'obj', out), plain)
  })

  test(`a whole object round-trips; the stored bytes hide the input (version ${version})`, (t) => {
    const stored = sealAtRest(sodium, key, id, plain, { version })
    t.is(stored.length, atRestBytes(plain.length))
    t.is(hex(sodium.sha256(openAtRest(sodium, key, id, 'obj', stored))), hex(sodium.sha256(plain)))
    t.false(Buffer.from(stored).includes(Buffer.from(plain.subarray(5000, 5064))), 'no 64-byte run of the input appears in the stored bytes')
    t.notDeepEqual(sealAtRest(sodium, key, id, plain, { version }).subarray(16, 48), stored.subarray(16, 48), 'a fresh random prefix every time')
  })

  test(`any byte range reads back exactly, opening only the records it touches (version ${version})`, (t) => {
    const stored = sealAtRest(sodium, key, id, plain, { version })
    fc.assert(
      fc.property(fc.integer({ min: 0, max: plain.length - 1 }), fc.integer({ min: 1, max: 2 * AT_REST_RECORD_BYTES }), (offset, len) => {
        const length = Math.min(len, plain.length - offset)
        return Buffer.from(range(stored, id, offset, length)).equals(Buffer.from(plain.subarray(offset, offset + length)))
      }),
      { numRuns: 200 },
    )
    const span = recordSpan(plain.length, AT_REST_RECORD_BYTES - 1, 2)
    t.deepEqual([span.first, span.count], [0, 2])
    t.throws(() => recordSpan(plain.length, plain.length - 1, 2), { message: /outside the object/ })
    t.throws(() => recordSpan(plain.length, -1, 2), { message: /outside the object/ })
  })

  test(`every flipped bit, truncation, swap or wrong key is OBJECT_CORRUPT naming the object (version ${version})`, (t) => {
    const small = sampleBytes(6, AT_REST_RECORD_BYTES + 50)
    const stored = sealAtRest(sodium, key, id, small, { version })
    for (const at of [0, 4, 5, 8, 12, 20, AT_REST_HEADER_BYTES, AT_REST_HEADER_BYTES + 1000, AT_REST_HEADER_BYTES + AT_REST_RECORD_BYTES + 3, stored.length - 1]) {
      for (const bit of [0, 7]) {
        const bad = stored.slice()
        bad[at] = (bad[at] as number) ^ (1 << bit)
        const err = t.throws(() => openAtRest(sodium, key, id, 'obj-1', bad), corrupt)
        t.regex(err?.message ?? '', /obj-1/)
      }
    }
    t.throws(() => openAtRest(sodium, key, id, 'obj', stored.subarray(0, stored.length - 1)), corrupt)
    t.throws(() => openAtRest(sodium, key, id, 'obj', stored.subarray(0, 10)), corrupt)
    t.throws(() => openAtRest(sodium, sampleBytes(9, 32), id, 'obj', stored), corrupt)
    t.throws(() => openAtRest(sodium, key, sampleBytes(10, 32), 'obj', stored), corrupt, 'records are bound to their object id')
    // The same records in another order, and a record from another object of the same size.
    const two = sealAtRest(sodium, key, id, sampleBytes(7, 2 * AT_REST_RECORD_BYTES), { version })
    const swapped = two.slice()
    const rec = AT_REST_RECORD_BYTES + 16
    swapped.set(two.subarray(AT_REST_HEADER_BYTES + rec, AT_REST_HEADER_BYTES + 2 * rec), AT_REST_HEADER_BYTES)
    swapped.set(two.subarray(AT_REST_HEADER_BYTES, AT_REST_HEADER_BYTES + rec), AT_REST_HEADER_BYTES + rec)
    t.throws(() => openAtRest(sodium, key, id, 'obj', swapped), corrupt)
    const other = sealAtRest(sodium, key, id, sampleBytes(8, 2 * AT_REST_RECORD_BYTES), { version })
    const mixed = two.slice()
    mixed.set(other.subarray(AT_REST_HEADER_BYTES + rec), AT_REST_HEADER_BYTES + rec)
    t.throws(() => openAtRest(sodium, key, id, 'obj', mixed), corrupt)
  })

  test(`empty and oversized objects are refused before anything is written (version ${version})`, (t) => {
    t.throws(() => sealAtRest(sodium, key, id, new Uint8Array(0)), { code: 'INPUT_INVALID' })
    t.throws(() => sealAtRest(sodium, key, id, plain, { prefix: new Uint8Array(8) }), { code: 'INPUT_INVALID' })
    t.throws(() => sealAtRest(sodium, key, id, plain, { into: new Uint8Array(atRestBytes(plain.length) + 1) }), { code: 'INPUT_INVALID' })
  })
}
