import type { Sodium } from '../ports/sodium.js'
import { asChunkId, type ChunkId } from '../ids.js'

/**
 * Chunk id = HMAC-SHA-256(idKey, plaintext). Keyed, so a storage node (or anyone without the
 * share key) cannot test whether a known file is in a backup by computing its ids.
 */
export function chunkIdOf(sodium: Sodium, idKey: Uint8Array, plaintext: Uint8Array): ChunkId {
  return asChunkId(sodium.hmacSha256(idKey, plaintext))
}
