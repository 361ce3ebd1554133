import type { ChunkId } from '../ids.js'
import type { ChunkSizes } from '../chunking/index.js'

/** One chunk, chunked, identified and sealed in its owner envelope (crypto/envelope.ts). */
export interface SealedChunk {
  id: ChunkId
  plainBytes: number
  envelope: Uint8Array
}

export interface SealingKeys {
  /** HMAC-SHA-256 key of chunk ids. */
  idKey: Uint8Array
  /** The keyed FastCDC gear table (chunking/gear.ts). */
  gear: Uint32Array
  /** XChaCha20-Poly1305 key of chunk envelopes. */
  chunkKey: Uint8Array
}

/** A local file read and sealed by the sealer: what it read, and its metadata after reading. */
export interface LocalFileRead {
  bytesRead: number
  after: { sizeBytes: number; mtimeMs: number }
}

/**
 * Takes a local file's next chunks, in order. Their envelopes are valid only until it returns,
 * or until the promise it returns settles: the sealer reuses that memory afterwards. Returning a
 * promise holds the sealer back until it settles (back-pressure); a rejection or a throw fails
 * that file's sealLocalFile with it.
 */
export type OnSealedChunks = (chunks: SealedChunk[]) => void | Promise<void>

/** One file's chunking, fed in order. */
export interface SealStream {
  /**
   * Feeds the next bytes; resolves with the chunks completed so far, in order. The stream takes
   * ownership of `piece`: the caller MUST NOT use it afterwards (it may be transferred).
   */
  push(piece: Uint8Array): Promise<SealedChunk[]>
  /** Ends the input; resolves with the remaining chunks. */
  finish(): Promise<SealedChunk[]>
}

/**
 * The CPU-heavy half of ingest — FastCDC, chunk ids (HMAC-SHA-256), envelopes, Merkle roots —
 * possibly on other threads.
 * - Chunks and ids MUST equal core's Chunker + chunkIdOf for the same keys, sizes and bytes,
 *   however the input is split; envelopes MUST open with crypto/envelope.ts openChunk().
 * - sealWhole(data) equals open() + push(data) + finish(); it takes ownership of `data`.
 * - sealLocalFile(path, sizes, onChunks) reads a file from the local file system, hands its
 *   chunks to onChunks as they are sealed (see OnSealedChunks), and resolves with the bytes read
 *   and its size and mtime after reading; IO_FAILED when unreadable (chunks already handed over
 *   stay valid sealed chunks). `sizeHint` (the size the walk saw) only helps spread work.
 * - merkleRoot(object) equals audit/merkle.ts merkleRoot(); it MUST NOT modify or keep `object`.
 * - close() releases threads; calls after close reject with CLOSED.
 */
export interface ChunkSealer {
  sealWhole(keys: SealingKeys, data: Uint8Array, sizes?: ChunkSizes): Promise<SealedChunk[]>
  sealLocalFile(keys: SealingKeys, absolutePath: string, sizes: ChunkSizes, onChunks: OnSealedChunks, sizeHint?: number): Promise<LocalFileRead>
  open(keys: SealingKeys, sizes?: ChunkSizes): SealStream
  merkleRoot(object: Uint8Array): Promise<Uint8Array>
  close(): Promise<void>
}
