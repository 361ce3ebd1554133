import type { Sodium } from '../ports/sodium.js'
import { concatBytes, utf8 } from '../../shared/bytes.js'

/**
 * Key-derivation contexts. Each is versioned: changing how a key is used means a new context,
 * never a new meaning for an old one. docs/FORMAT.md lists them with vectors.
 */
export const KDF_CONTEXT = {
  SHARE: 'quloud:share:v1',
  ID: 'quloud:id:v1',
  DATA: 'quloud:data:v1',
  PROOF: 'quloud:proof:v1',
  LOCATOR: 'quloud:locator:v1',
  GEAR: 'quloud:gear:v1',
  CHUNK: 'quloud:chunk:v1',
  PACK: 'quloud:pack:v1',
  OWNER_LOCATOR: 'quloud:owner-locator:v1',
  OWNER_POINTER: 'quloud:owner-pointer:v1',
  OWNER_SIGNING: 'quloud:owner-signing:v1',
  SHARE_POINTER: 'quloud:share-pointer:v1',
  IMPORTED_SHARE: 'quloud:imported-share:v1',
  KEY_FILE_WRAP: 'quloud:key-file-wrap:v1',
  KEY_FILE_CHECK: 'quloud:key-file-check:v1',
  STORE_AT_REST: 'quloud:store-at-rest:v1',
  STORE_CATALOG: 'quloud:store-catalog:v1',
  STORE_TAG: 'quloud:store-tag:v1',
} as const

export type KdfContext = (typeof KDF_CONTEXT)[keyof typeof KDF_CONTEXT]

export const KEY_BYTES = 32

/**
 * subkey = BLAKE2b(key = parent, message = UTF-8(context) || 0x00 || id, outputBytes).
 * The 0x00 separator keeps (context, id) pairs unambiguous; contexts never contain NUL.
 */
export function deriveSubkey(
  sodium: Sodium,
  parent: Uint8Array,
  context: KdfContext,
  id: Uint8Array = new Uint8Array(0),
  outputBytes = KEY_BYTES,
): Uint8Array {
  if (parent.length !== KEY_BYTES) throw new RangeError('parent key must be 32 bytes')
  return sodium.blake2b(concatBytes([utf8(context), new Uint8Array([0]), id]), outputBytes, parent)
}
