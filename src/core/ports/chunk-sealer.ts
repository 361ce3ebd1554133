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

/** A whole local file, read and sealed in one step, with its metadata after reading. */
export interface SealedFile {
  chunks: SealedChunk[]
  bytesRead: number
  after: { sizeBytes: number; mtimeMs: number }
}

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
 * - sealLocalFile(path) reads a whole file from the local file system (the caller has checked
 *   it is small) and reports its size and mtime after reading; IO_FAILED when unreadable.
 * - merkleRoot(object) equals audit/merkle.ts merkleRoot(); it MUST NOT modify or keep `object`.
 * - close() releases threads; calls after close reject with CLOSED.
 */
export interface ChunkSealer {
  sealWhole(keys: SealingKeys, data: Uint8Array, sizes?: ChunkSizes): Promise<SealedChunk[]>
  sealLocalFile(keys: SealingKeys, absolutePath: string, sizes?: ChunkSizes): Promise<SealedFile>
  open(keys: SealingKeys, sizes?: ChunkSizes): SealStream
  merkleRoot(object: Uint8Array): Promise<Uint8Array>
  close(): Promise<void>
}
