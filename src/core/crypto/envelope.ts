import type { Sodium } from '../ports/sodium.js'
import type { ChunkId } from '../ids.js'
import { concatBytes } from '../../shared/bytes.js'

/**
 * Owner envelope of one chunk:  version (1 byte, 0x01) || nonce (24) || ciphertext || tag (16).
 * XChaCha20-Poly1305 under chunkKey with AD = version || chunk id, so an envelope moved to
 * another chunk's place (or a chunk id swapped in an index) fails authentication.
 * Random 192-bit nonces: no nonce state to keep, and collisions are negligible for any number of
 * chunks one key will see.
 */
export const ENVELOPE_VERSION = 0x01
export const ENVELOPE_NONCE_BYTES = 24
export const ENVELOPE_TAG_BYTES = 16
export const ENVELOPE_OVERHEAD_BYTES = 1 + ENVELOPE_NONCE_BYTES + ENVELOPE_TAG_BYTES

function chunkAd(chunkId: ChunkId): Uint8Array {
  return concatBytes([new Uint8Array([ENVELOPE_VERSION]), chunkId])
}

/**
 * Seals into out[offset, offset + plaintext.length + 41) and returns the envelope length.
 * `nonce` is for known-answer vectors only; production passes none.
 */
export function sealChunkInto(
  sodium: Sodium, chunkKey: Uint8Array, chunkId: ChunkId, plaintext: Uint8Array, out: Uint8Array, offset: number, nonce?: Uint8Array,
): number {
  const n = nonce ?? sodium.randomBytes(ENVELOPE_NONCE_BYTES)
  out[offset] = ENVELOPE_VERSION
  out.set(n, offset + 1)
  sodium.aeadSealInto(out, offset + 1 + ENVELOPE_NONCE_BYTES, chunkKey, n, plaintext, chunkAd(chunkId))
  return plaintext.length + ENVELOPE_OVERHEAD_BYTES
}

export function sealChunk(sodium: Sodium, chunkKey: Uint8Array, chunkId: ChunkId, plaintext: Uint8Array, nonce?: Uint8Array): Uint8Array {
  const out = new Uint8Array(plaintext.length + ENVELOPE_OVERHEAD_BYTES)
  sealChunkInto(sodium, chunkKey, chunkId, plaintext, out, 0, nonce)
  return out
}

/** Opens an envelope; null when it is malformed, of another version, or fails authentication. */
export function openChunk(sodium: Sodium, chunkKey: Uint8Array, chunkId: ChunkId, envelope: Uint8Array, into?: Uint8Array): Uint8Array | null {
  if (envelope.length < ENVELOPE_OVERHEAD_BYTES || envelope[0] !== ENVELOPE_VERSION) return null
  const nonce = envelope.subarray(1, 1 + ENVELOPE_NONCE_BYTES)
  return sodium.aeadOpen(chunkKey, nonce, envelope.subarray(1 + ENVELOPE_NONCE_BYTES), chunkAd(chunkId), into)
}
