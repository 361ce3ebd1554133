import type { Sodium } from '../ports/sodium.js'
import type { ShareId } from '../ids.js'
import { KDF_CONTEXT, KEY_BYTES, deriveSubkey } from './kdf.js'
import { fieldElementFromWideBytes } from './field.js'

export const MASTER_KEY_BYTES = KEY_BYTES

/** The keys one share's data is handled with. Handing shareKey to a friend grants this share only. */
export interface ShareKeys {
  shareKey: Uint8Array
  /** HMAC-SHA-256 key for chunk ids, and the seed of the keyed chunker's gear table. */
  idKey: Uint8Array
  /** Root of the encryption keys below. */
  dataKey: Uint8Array
  /** XChaCha20-Poly1305 key for chunk envelopes. */
  chunkKey: Uint8Array
  /** XChaCha20-Poly1305 key for pack headers and trailers. */
  packKey: Uint8Array
  /** The zero-knowledge secret: a BN254 scalar, never zero. */
  proofKey: bigint
  /** Ed25519 seed that signs the share's mutable root pointer. */
  locatorSeed: Uint8Array
  /** XChaCha20-Poly1305 key of the share pointer's value. */
  pointerKey: Uint8Array
}

export function deriveShareKey(sodium: Sodium, masterKey: Uint8Array, shareId: ShareId): Uint8Array {
  return deriveSubkey(sodium, masterKey, KDF_CONTEXT.SHARE, shareId)
}

/** Everything below a share key. Deterministic, so the master key (or share key) is enough to recover. */
export function deriveShareKeys(sodium: Sodium, shareKey: Uint8Array): ShareKeys {
  if (shareKey.length !== KEY_BYTES) throw new RangeError('share key must be 32 bytes')
  const dataKey = deriveSubkey(sodium, shareKey, KDF_CONTEXT.DATA)
  return {
    shareKey,
    idKey: deriveSubkey(sodium, shareKey, KDF_CONTEXT.ID),
    dataKey,
    chunkKey: deriveSubkey(sodium, dataKey, KDF_CONTEXT.CHUNK),
    packKey: deriveSubkey(sodium, dataKey, KDF_CONTEXT.PACK),
    proofKey: fieldElementFromWideBytes(deriveSubkey(sodium, shareKey, KDF_CONTEXT.PROOF, undefined, 64)),
    locatorSeed: deriveSubkey(sodium, shareKey, KDF_CONTEXT.LOCATOR),
    pointerKey: deriveSubkey(sodium, dataKey, KDF_CONTEXT.SHARE_POINTER),
  }
}

/** Keys of the owner pointer, derived from the master key alone (the start of disaster recovery). */
export function deriveOwnerKeys(sodium: Sodium, masterKey: Uint8Array): { locatorSeed: Uint8Array; pointerKey: Uint8Array; signingSeed: Uint8Array; importWrapKey: Uint8Array } {
  return {
    locatorSeed: deriveSubkey(sodium, masterKey, KDF_CONTEXT.OWNER_LOCATOR),
    pointerKey: deriveSubkey(sodium, masterKey, KDF_CONTEXT.OWNER_POINTER),
    /** Ed25519 seed of the owner id: it signs stores, owner keys and audits, so a recovered node is the same owner. */
    signingSeed: deriveSubkey(sodium, masterKey, KDF_CONTEXT.OWNER_SIGNING),
    /** Wraps share keys imported from friends, in the local index. */
    importWrapKey: deriveSubkey(sodium, masterKey, KDF_CONTEXT.IMPORTED_SHARE),
  }
}
