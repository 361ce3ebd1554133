import type { Sodium } from '../ports/sodium.js'
import { objectCorrupt, inputInvalid } from '../errors.js'
import { concatBytes, readU64LE, utf8, writeU64LE } from '../../shared/bytes.js'

/**
 * The storage node's own encryption layer over each object it keeps (docs/FORMAT.md §9). The
 * object (already the owner's ciphertext) is cut into 64 KiB records, each sealed under the node's
 * at-rest key, so a byte range is read by opening only the records it touches.
 *
 *   header   "QLS1" | version | log2(record bytes) = 16 | 0x0000 | u64le(plain size) | prefix[16]
 *   version 1: record i = XChaCha20-Poly1305(key, nonce = prefix || u64le(i), record plaintext,
 *              ad = "quloud:at-rest:v1" || object id || u64le(plain size) || u64le(i))
 *   version 2: record i = AES-256-GCM(objectKey, nonce = u64le(i) || 0x00000000, record plaintext,
 *              ad = "quloud:at-rest:v2" || object id || u64le(plain size) || u64le(i)),
 *              objectKey = BLAKE2b-256(key = at-rest key, "quloud:at-rest:v2:key" || prefix)
 *
 * The prefix is random per object, so nonces never repeat under one key: in version 1 it is half
 * of every nonce, in version 2 it makes a key for that object alone, under which each record's
 * index is its nonce (an object has at most 2^14 records of 64 KiB, far inside GCM's limits).
 * Binding the size and the index into every record's AD catches truncation, reordering and records
 * moved between objects; the header needs no tag of its own, since changing it breaks every
 * record. A node writes version 2 where its CPU has AES instructions (Sodium.aesGcm.inHardware:
 * about 0.3 core-seconds less per GiB it stores or serves), version 1 elsewhere, and reads both.
 */
export const AT_REST_HEADER_BYTES = 32
export const AT_REST_RECORD_LOG2 = 16
export const AT_REST_RECORD_BYTES = 1 << AT_REST_RECORD_LOG2
const TAG_BYTES = 16
const MAGIC = utf8('QLS1')
const AD_LABELS = { 1: utf8('quloud:at-rest:v1'), 2: utf8('quloud:at-rest:v2') } as const
const OBJECT_KEY_LABEL = utf8('quloud:at-rest:v2:key')
/** Objects are packs of ~16 MiB; this bounds memory and rules out absurd sizes in headers. */
export const AT_REST_MAX_PLAIN_BYTES = 1 << 30

export type AtRestVersion = 1 | 2

export interface AtRestHeader {
  version: AtRestVersion
  plainBytes: number
  prefix: Uint8Array
}

export const recordCount = (plainBytes: number): number => Math.ceil(plainBytes / AT_REST_RECORD_BYTES)

/** Size on disk of an object of plainBytes. */
export function atRestBytes(plainBytes: number): number {
  return AT_REST_HEADER_BYTES + plainBytes + recordCount(plainBytes) * TAG_BYTES
}

/** One object's records: how each is sealed and opened under its version (see above). */
interface RecordCipher {
  seal(out: Uint8Array, at: number, index: number, record: Uint8Array): number
  open(index: number, sealed: Uint8Array, into?: Uint8Array): Uint8Array | null
}

function recordCipher(sodium: Sodium, key: Uint8Array, objectId: Uint8Array, version: AtRestVersion, plainBytes: number, prefix: Uint8Array, objectName: string): RecordCipher {
  const label = AD_LABELS[version]
  const ad = new Uint8Array(label.length + objectId.length + 16)
  ad.set(label, 0)
  ad.set(objectId, label.length)
  writeU64LE(ad, label.length + objectId.length, plainBytes)
  // The AD and nonce of record i differ only in i: one of each, rewritten per record.
  const adFor = (index: number) => (writeU64LE(ad, ad.length - 8, index), ad)
  if (version === 1) {
    const nonce = new Uint8Array(24)
    nonce.set(prefix, 0)
    const nonceFor = (index: number) => (writeU64LE(nonce, 16, index), nonce)
    return {
      seal: (out, at, i, record) => sodium.aeadSealInto(out, at, key, nonceFor(i), record, adFor(i)),
      open: (i, sealed, into) => sodium.aeadOpen(key, nonceFor(i), sealed, adFor(i), into),
    }
  }
  const gcm = sodium.aesGcm
  if (!gcm) throw objectCorrupt(objectName, 'stored format version 2 needs AES-256-GCM, which this build lacks')
  const objectKey = sodium.blake2b(concatBytes([OBJECT_KEY_LABEL, prefix]), 32, key)
  const nonce = new Uint8Array(12)
  const nonceFor = (index: number) => (writeU64LE(nonce, 0, index), nonce)
  return {
    seal: (out, at, i, record) => gcm.sealInto(out, at, objectKey, nonceFor(i), record, adFor(i)),
    open: (i, sealed, into) => gcm.open(objectKey, nonceFor(i), sealed, adFor(i), into),
  }
}

export interface SealAtRestOptions {
  /** The nonce prefix (fresh random bytes when absent; fixed only for known-answer tests). */
  prefix?: Uint8Array
  /** The format (default: 2 where the CPU computes AES-256-GCM in hardware, else 1). */
  version?: AtRestVersion
  /**
   * Where to write: exactly atRestBytes(plain.length) bytes, every one of which is written, so
   * reused memory may be passed. A new buffer when absent.
   */
  into?: Uint8Array
}

/** Seals an object for keeping; returns the stored bytes (`into` when given). */
export function sealAtRest(sodium: Sodium, key: Uint8Array, objectId: Uint8Array, plain: Uint8Array, opts: SealAtRestOptions = {}): Uint8Array {
  if (plain.length === 0 || plain.length > AT_REST_MAX_PLAIN_BYTES) throw inputInvalid(`an object must hold 1 to ${AT_REST_MAX_PLAIN_BYTES} bytes`)
  const prefix = opts.prefix ?? sodium.randomBytes(16)
  if (prefix.length !== 16) throw inputInvalid('the nonce prefix must be 16 bytes')
  if (opts.into && opts.into.length !== atRestBytes(plain.length)) throw inputInvalid(`the output must be ${atRestBytes(plain.length)} bytes`)
  const version = opts.version ?? (sodium.aesGcm?.inHardware ? 2 : 1)
  const out = opts.into ?? new Uint8Array(atRestBytes(plain.length))
  const cipher = recordCipher(sodium, key, objectId, version, plain.length, prefix, 'the object being stored')
  out.set(MAGIC, 0)
  out[4] = version
  out[5] = AT_REST_RECORD_LOG2
  out[6] = 0
  out[7] = 0
  writeU64LE(out, 8, plain.length)
  out.set(prefix, 16)
  let at = AT_REST_HEADER_BYTES
  for (let i = 0; i < recordCount(plain.length); i++) {
    const record = plain.subarray(i * AT_REST_RECORD_BYTES, Math.min((i + 1) * AT_REST_RECORD_BYTES, plain.length))
    at += cipher.seal(out, at, i, record)
  }
  return out
}

export function parseAtRestHeader(header: Uint8Array, objectName: string): AtRestHeader {
  if (header.length < AT_REST_HEADER_BYTES) throw objectCorrupt(objectName, 'stored header is truncated')
  for (let i = 0; i < 4; i++) if (header[i] !== MAGIC[i]) throw objectCorrupt(objectName, 'stored header has the wrong magic')
  const version = header[4]
  if (version !== 1 && version !== 2) throw objectCorrupt(objectName, `stored format version ${version} is not supported`)
  if (header[5] !== AT_REST_RECORD_LOG2 || header[6] !== 0 || header[7] !== 0) throw objectCorrupt(objectName, 'stored header has unknown parameters')
  const plainBytes = readU64LE(header, 8)
  if (plainBytes === null || plainBytes < 1 || plainBytes > AT_REST_MAX_PLAIN_BYTES) throw objectCorrupt(objectName, 'stored header has an impossible size')
  return { version, plainBytes, prefix: header.slice(16, 32) }
}

/** Which stored bytes hold plaintext [offset, offset + length): the records, as a byte span. */
export function recordSpan(plainBytes: number, offset: number, length: number): { first: number; count: number; byteOffset: number; byteLength: number } {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 1 || offset + length > plainBytes) {
    throw inputInvalid(`range ${offset}+${length} is outside the object (${plainBytes} bytes)`)
  }
  const first = Math.floor(offset / AT_REST_RECORD_BYTES)
  const last = Math.floor((offset + length - 1) / AT_REST_RECORD_BYTES)
  const byteOffset = AT_REST_HEADER_BYTES + first * (AT_REST_RECORD_BYTES + TAG_BYTES)
  const end = Math.min(AT_REST_HEADER_BYTES + (last + 1) * (AT_REST_RECORD_BYTES + TAG_BYTES), atRestBytes(plainBytes))
  return { first, count: last - first + 1, byteOffset, byteLength: end - byteOffset }
}

/**
 * Opens the records of recordSpan(header.plainBytes, offset, length) (their stored bytes in
 * `sealed`) and returns exactly plaintext [offset, offset + length), in the first `length` bytes
 * of `into` when given (at least that long). Any altered, truncated or misplaced byte is
 * OBJECT_CORRUPT naming the object.
 */
export function openAtRestRange(sodium: Sodium, key: Uint8Array, objectId: Uint8Array, objectName: string, header: AtRestHeader, sealed: Uint8Array, offset: number, length: number, into?: Uint8Array): Uint8Array {
  const span = recordSpan(header.plainBytes, offset, length)
  if (sealed.length !== span.byteLength) throw objectCorrupt(objectName, 'stored object is truncated')
  if (into && into.length < length) throw inputInvalid(`a ${into.length}-byte buffer cannot take ${length} bytes`)
  const out = into ? into.subarray(0, length) : new Uint8Array(length)
  const cipher = recordCipher(sodium, key, objectId, header.version, header.plainBytes, header.prefix, objectName)
  let at = 0
  let filled = 0
  for (let i = span.first; i < span.first + span.count; i++) {
    const plainLen = Math.min(AT_REST_RECORD_BYTES, header.plainBytes - i * AT_REST_RECORD_BYTES)
    const from = Math.max(0, offset - i * AT_REST_RECORD_BYTES)
    const to = Math.min(plainLen, offset + length - i * AT_REST_RECORD_BYTES)
    // A record wholly inside the range opens straight into its place; one cut by either end, aside.
    const whole = from === 0 && to === plainLen
    const record = cipher.open(i, sealed.subarray(at, at + plainLen + TAG_BYTES), whole ? out.subarray(filled, filled + plainLen) : undefined)
    if (!record) throw objectCorrupt(objectName, `stored record ${i} fails authentication`)
    at += plainLen + TAG_BYTES
    if (!whole) out.set(record.subarray(from, to), filled)
    filled += to - from
  }
  return out
}

/** Opens a whole stored object. */
export function openAtRest(sodium: Sodium, key: Uint8Array, objectId: Uint8Array, objectName: string, stored: Uint8Array): Uint8Array {
  const header = parseAtRestHeader(stored, objectName)
  if (stored.length !== atRestBytes(header.plainBytes)) throw objectCorrupt(objectName, 'stored object has the wrong length')
  return openAtRestRange(sodium, key, objectId, objectName, header, stored.subarray(AT_REST_HEADER_BYTES), 0, header.plainBytes)
}
