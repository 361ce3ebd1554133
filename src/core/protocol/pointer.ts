import type { Sodium } from '../ports/sodium.js'
import { signatureInvalid } from '../errors.js'
import { toBase64, toHex } from '../../shared/bytes.js'
import { signingBytes } from './canonical.js'
import { base64Bytes, hexBytes, integer, object } from './fields.js'

export const POINTER_LABEL = 'quloud:pointer:v1'
export const BLOB_LABEL = 'quloud:blob:v1'
export const MAX_POINTER_VALUE_BYTES = 4096

/**
 * A share's mutable root pointer (docs/PROTOCOL.md §5.7): an opaque value (the owner encrypts it)
 * under an Ed25519 locator key, signed with a strictly increasing sequence number, so a storage
 * node can keep only the newest and nobody without the locator key can write or roll it back.
 */
export interface SignedPointer {
  locator: Uint8Array
  seq: number
  value: Uint8Array
  signature: Uint8Array
}

const body = (p: Omit<SignedPointer, 'signature'>) => ({ locator: toHex(p.locator), seq: p.seq, value: toBase64(p.value) })

export function signPointer(sodium: Sodium, locatorSecretKey: Uint8Array, locator: Uint8Array, seq: number, value: Uint8Array): SignedPointer {
  const p = { locator, seq, value }
  return { ...p, signature: sodium.sign(signingBytes(POINTER_LABEL, body(p)), locatorSecretKey) }
}

export const pointerToJson = (p: SignedPointer): Record<string, unknown> => ({ ...body(p), signature: toBase64(p.signature) })

export function verifyPointer(sodium: Sodium, raw: unknown, locator: Uint8Array): SignedPointer {
  const o = object(raw, 'the pointer', ['locator', 'seq', 'value', 'signature'])
  const p: SignedPointer = {
    locator: hexBytes(o.locator, 'locator', 32),
    seq: integer(o.seq, 'seq', 1, Number.MAX_SAFE_INTEGER),
    value: base64Bytes(o.value, 'value', 1, MAX_POINTER_VALUE_BYTES),
    signature: base64Bytes(o.signature, 'signature', 64, 64),
  }
  if (toHex(p.locator) !== toHex(locator)) throw signatureInvalid('the pointer is for another locator')
  if (!sodium.verify(p.signature, signingBytes(POINTER_LABEL, body(p)), p.locator)) throw signatureInvalid('the pointer signature does not verify for its locator')
  return p
}

/** The locator key's permission to keep one public blob (the owner's proving or verification key). */
export function signBlob(sodium: Sodium, locatorSecretKey: Uint8Array, locator: Uint8Array, sha256: Uint8Array, sizeBytes: number): Uint8Array {
  return sodium.sign(signingBytes(BLOB_LABEL, { locator: toHex(locator), sha256: toHex(sha256), sizeBytes }), locatorSecretKey)
}

export function verifyBlob(sodium: Sodium, signature: Uint8Array, locator: Uint8Array, sha256: Uint8Array, sizeBytes: number): void {
  if (signature.length !== 64 || !sodium.verify(signature, signingBytes(BLOB_LABEL, { locator: toHex(locator), sha256: toHex(sha256), sizeBytes }), locator)) {
    throw signatureInvalid('the blob is not signed by the locator it is stored under')
  }
}
