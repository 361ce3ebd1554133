import type { Sodium } from '../ports/sodium.js'
import type { Argon2Params, PasswordKdf } from '../ports/password-kdf.js'
import { fromBase64, toBase64, utf8, bytesEqual } from '../../shared/bytes.js'
import { keyFileCorrupt, passphraseWrong } from '../errors.js'
import { KDF_CONTEXT, deriveSubkey } from './kdf.js'
import { MASTER_KEY_BYTES } from './keys.js'

/**
 * The master key at rest: XChaCha20-Poly1305 under a key from Argon2id(passphrase, salt).
 * Stored as a small JSON document (file mode 0600, written by the fs adapter):
 *
 *   { "format": "quloud-key-file", "version": 1,
 *     "kdf": { "algorithm": "argon2id", "memoryKiB", "iterations", "parallelism", "salt" },
 *     "check": b64(16 bytes), "nonce": b64(24 bytes), "ciphertext": b64(32 + 16 bytes) }
 *
 * The Argon2id output A gives wrapKey = subkey(A, key-file-wrap) and a 16-byte check value
 * BLAKE2b(key = A, "quloud:key-file-check:v1"). The check tells a wrong passphrase (check differs)
 * from a damaged file (check matches, ciphertext fails): two different errors for the user. It
 * reveals nothing the ciphertext's tag did not already let an attacker test offline.
 * The AD binds every header field, so a tampered KDF parameter fails as damage, not silently.
 */
export const KEY_FILE_FORMAT = 'quloud-key-file'
export const KEY_FILE_VERSION = 1
export const KEY_FILE_SALT_BYTES = 16
export const KEY_FILE_CHECK_BYTES = 16
const NONCE_BYTES = 24
const TAG_BYTES = 16

/** Interactive-unlock cost: 44 ms measured here for m = 64 MiB, t = 3. */
export const DEFAULT_ARGON2_PARAMS: Argon2Params = { memoryKiB: 65536, iterations: 3, parallelism: 1 }
/** Bounds a key file may ask for; outside them the file is treated as damaged (or hostile). */
const MAX_MEMORY_KIB = 4 * 1024 * 1024
const MAX_ITERATIONS = 64
const MIN_MEMORY_KIB = 8

export interface KeyFileV1 {
  format: typeof KEY_FILE_FORMAT
  version: typeof KEY_FILE_VERSION
  kdf: { algorithm: 'argon2id'; memoryKiB: number; iterations: number; parallelism: number; salt: string }
  check: string
  nonce: string
  ciphertext: string
}

function headerAd(kdf: KeyFileV1['kdf']): Uint8Array {
  return utf8(
    `${KEY_FILE_FORMAT}:v${KEY_FILE_VERSION}:argon2id:m=${kdf.memoryKiB}:t=${kdf.iterations}:p=${kdf.parallelism}:salt=${kdf.salt}`,
  )
}

function checkValue(sodium: Sodium, argonOut: Uint8Array): Uint8Array {
  return sodium.blake2b(utf8(KDF_CONTEXT.KEY_FILE_CHECK), KEY_FILE_CHECK_BYTES, argonOut)
}

export async function wrapMasterKey(
  sodium: Sodium,
  kdf: PasswordKdf,
  masterKey: Uint8Array,
  passphrase: string,
  params: Argon2Params = DEFAULT_ARGON2_PARAMS,
): Promise<string> {
  if (masterKey.length !== MASTER_KEY_BYTES) throw new RangeError('master key must be 32 bytes')
  const salt = sodium.randomBytes(KEY_FILE_SALT_BYTES)
  const argonOut = await kdf.derive(passphrase, salt, params, 32)
  const kdfField: KeyFileV1['kdf'] = { algorithm: 'argon2id', ...params, salt: toBase64(salt) }
  const nonce = sodium.randomBytes(NONCE_BYTES)
  const wrapKey = deriveSubkey(sodium, argonOut, KDF_CONTEXT.KEY_FILE_WRAP)
  const file: KeyFileV1 = {
    format: KEY_FILE_FORMAT,
    version: KEY_FILE_VERSION,
    kdf: kdfField,
    check: toBase64(checkValue(sodium, argonOut)),
    nonce: toBase64(nonce),
    ciphertext: toBase64(sodium.aeadSeal(wrapKey, nonce, masterKey, headerAd(kdfField))),
  }
  return JSON.stringify(file, null, 2) + '\n'
}

function field<T>(value: unknown, ok: (v: unknown) => v is T, what: string): T {
  if (!ok(value)) throw keyFileCorrupt(`field ${what} is missing or malformed`)
  return value
}
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v)
const isStr = (v: unknown): v is string => typeof v === 'string'

function b64Field(value: unknown, length: number, what: string): Uint8Array {
  const bytes = fromBase64(field(value, isStr, what))
  if (bytes === null || bytes.length !== length) throw keyFileCorrupt(`field ${what} has the wrong length`)
  return bytes
}

/** Parses and validates the document without any key material; throws KEY_FILE_CORRUPT. */
export function parseKeyFile(text: string): KeyFileV1 {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    throw keyFileCorrupt('it is not valid JSON')
  }
  if (typeof doc !== 'object' || doc === null) throw keyFileCorrupt('it is not a JSON object')
  const d = doc as Record<string, unknown>
  if (d.format !== KEY_FILE_FORMAT) throw keyFileCorrupt('it is not a Quloud key file')
  if (d.version !== KEY_FILE_VERSION) throw keyFileCorrupt(`format version ${String(d.version)} is not supported`)
  const k = field(d.kdf, (v): v is Record<string, unknown> => typeof v === 'object' && v !== null, 'kdf')
  if (k.algorithm !== 'argon2id') throw keyFileCorrupt('kdf.algorithm must be argon2id')
  const memoryKiB = field(k.memoryKiB, isInt, 'kdf.memoryKiB')
  const iterations = field(k.iterations, isInt, 'kdf.iterations')
  const parallelism = field(k.parallelism, isInt, 'kdf.parallelism')
  if (memoryKiB < MIN_MEMORY_KIB || memoryKiB > MAX_MEMORY_KIB || iterations < 1 || iterations > MAX_ITERATIONS || parallelism < 1 || parallelism > 16) {
    throw keyFileCorrupt('kdf parameters are out of range')
  }
  const salt = field(k.salt, isStr, 'kdf.salt')
  b64Field(salt, KEY_FILE_SALT_BYTES, 'kdf.salt')
  b64Field(d.check, KEY_FILE_CHECK_BYTES, 'check')
  b64Field(d.nonce, NONCE_BYTES, 'nonce')
  b64Field(d.ciphertext, MASTER_KEY_BYTES + TAG_BYTES, 'ciphertext')
  return {
    format: KEY_FILE_FORMAT,
    version: KEY_FILE_VERSION,
    kdf: { algorithm: 'argon2id', memoryKiB, iterations, parallelism, salt },
    check: d.check as string,
    nonce: d.nonce as string,
    ciphertext: d.ciphertext as string,
  }
}

/** Opens a key file. PASSPHRASE_WRONG when the check differs, KEY_FILE_CORRUPT for any damage. */
export async function unwrapMasterKey(sodium: Sodium, kdf: PasswordKdf, text: string, passphrase: string): Promise<Uint8Array> {
  const file = parseKeyFile(text)
  const salt = fromBase64(file.kdf.salt) as Uint8Array
  const { memoryKiB, iterations, parallelism } = file.kdf
  const argonOut = await kdf.derive(passphrase, salt, { memoryKiB, iterations, parallelism }, 32)
  if (!bytesEqual(checkValue(sodium, argonOut), fromBase64(file.check) as Uint8Array)) throw passphraseWrong()
  const wrapKey = deriveSubkey(sodium, argonOut, KDF_CONTEXT.KEY_FILE_WRAP)
  const master = sodium.aeadOpen(wrapKey, fromBase64(file.nonce) as Uint8Array, fromBase64(file.ciphertext) as Uint8Array, headerAd(file.kdf))
  if (master === null) throw keyFileCorrupt('the wrapped key fails authentication')
  return master
}

