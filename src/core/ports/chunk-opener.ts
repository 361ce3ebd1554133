import type { ChunkId } from '../ids.js'

/** One chunk to open: its envelope at source[at, at + sealedBytes), its plaintext to into[to, to + plainBytes). */
export interface ChunkToOpen {
  chunkId: ChunkId
  at: number
  sealedBytes: number
  to: number
  plainBytes: number
}

/** Why a chunk did not open: its envelope failed authentication, or its content does not match its id. */
export type OpenFailure = { index: number; reason: 'envelope' | 'id' }

/**
 * Opens owner envelopes (crypto/envelope.ts openChunk) and checks each plaintext against its id
 * (chunkIdOf) on other threads, so a restore's main thread only moves bytes.
 * - `source` and `into` MUST be views of SharedArrayBuffers: they are read and written in place
 *   by another thread, and neither may be touched until the promise settles.
 * - Resolves with the first chunk that failed (its index in `chunks`) and why, or null when every
 *   chunk opened and matched its id; the plaintext of a failed chunk and of those after it is
 *   unspecified. Rejects only when the threads are gone (CLOSED) or broken.
 */
export interface ChunkOpener {
  openChunks(keys: { chunkKey: Uint8Array; idKey: Uint8Array }, source: Uint8Array, into: Uint8Array, chunks: readonly ChunkToOpen[]): Promise<OpenFailure | null>
}
