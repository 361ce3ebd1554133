import type { ChunkId } from '../ids.js'

/** One chunk to open: its envelope at source[at, at + sealedBytes), its plaintext to into[to, to + plainBytes). */
export interface ChunkToOpen {
  chunkId: ChunkId
  at: number
  sealedBytes: number
  to: number
  plainBytes: number
}

/** The chunk that did not open: its envelope failed authentication under its id, or is not of its length. */
export type OpenFailure = { index: number }

/**
 * Opens owner envelopes (crypto/envelope.ts openChunk) on other threads, so a restore's main
 * thread only moves bytes. An envelope opens only under the id it was sealed with (it is the
 * associated data), so a chunk that opens is the one asked for; no id is recomputed (FORMAT §4).
 * - `source` and `into` MUST be views of SharedArrayBuffers: they are read and written in place
 *   by another thread, and neither may be touched until the promise settles.
 * - Resolves with the first chunk that failed (its index in `chunks`), or null when every chunk
 *   opened to its plainBytes; the plaintext of a failed chunk and of those after it is
 *   unspecified. Rejects only when the threads are gone (CLOSED) or broken.
 */
export interface ChunkOpener {
  openChunks(keys: { chunkKey: Uint8Array }, source: Uint8Array, into: Uint8Array, chunks: readonly ChunkToOpen[]): Promise<OpenFailure | null>
}
