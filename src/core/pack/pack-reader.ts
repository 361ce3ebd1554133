import type { Sodium } from '../ports/sodium.js'
import { asChunkId, type ChunkId, type PackId } from '../ids.js'
import { chunkCorrupt, objectCorrupt } from '../errors.js'
import { openChunk, ENVELOPE_OVERHEAD_BYTES } from '../crypto/index.js'
import { MAX_CHUNK_BYTES } from '../chunking/index.js'
import { readU32LE, readU64LE, shortHex } from '../../shared/bytes.js'
import { packAd, PACK_MAX_ENTRIES, type PackEntry, type PackKeys } from './pack-builder.js'
import {
  PACK_ENTRY_BYTES, PACK_FORMAT_VERSION, PACK_HEADER_AD_TAG, PACK_HEADER_FIXED_BYTES, PACK_MAX_BYTES,
  PACK_NONCE_BYTES, PACK_TAG_BYTES, PACK_TRAILER_AD_TAG, PACK_TRAILER_BYTES,
} from './pack-format.js'

export interface PackLayout {
  headerOffset: number
  headerEnvelopeBytes: number
}

/** Decrypts the fixed-size trailer (the object's last 56 bytes). Throws OBJECT_CORRUPT. */
export function readTrailer(sodium: Sodium, packKey: Uint8Array, packId: PackId, objectBytes: number, trailer: Uint8Array): PackLayout {
  const name = shortHex(packId)
  if (objectBytes < PACK_TRAILER_BYTES || objectBytes > PACK_MAX_BYTES) throw objectCorrupt(name, `size ${objectBytes} is outside the pack limits`)
  if (trailer.length !== PACK_TRAILER_BYTES) throw objectCorrupt(name, 'trailer is truncated')
  const plain = sodium.aeadOpen(packKey, trailer.subarray(0, PACK_NONCE_BYTES), trailer.subarray(PACK_NONCE_BYTES), packAd(PACK_TRAILER_AD_TAG, packId))
  if (plain === null) throw objectCorrupt(name, 'trailer fails authentication (truncated, altered or another pack)')
  const headerOffset = readU64LE(plain, 0)
  const headerEnvelopeBytes = readU32LE(plain, 8)
  if (readU32LE(plain, 12) !== PACK_FORMAT_VERSION) throw objectCorrupt(name, 'unsupported pack format version')
  if (headerOffset === null || headerOffset + headerEnvelopeBytes > objectBytes - PACK_TRAILER_BYTES || headerEnvelopeBytes < PACK_NONCE_BYTES + PACK_TAG_BYTES + PACK_HEADER_FIXED_BYTES) {
    throw objectCorrupt(name, 'trailer points outside the pack')
  }
  return { headerOffset, headerEnvelopeBytes }
}

/** Decrypts and validates the header: entries in order, contiguous, inside the body. */
export function readHeader(sodium: Sodium, packKey: Uint8Array, packId: PackId, layout: PackLayout, headerEnvelope: Uint8Array): PackEntry[] {
  const name = shortHex(packId)
  const plain = sodium.aeadOpen(packKey, headerEnvelope.subarray(0, PACK_NONCE_BYTES), headerEnvelope.subarray(PACK_NONCE_BYTES), packAd(PACK_HEADER_AD_TAG, packId))
  if (plain === null) throw objectCorrupt(name, 'header fails authentication')
  if (readU32LE(plain, 0) !== PACK_FORMAT_VERSION) throw objectCorrupt(name, 'unsupported header version')
  const count = readU32LE(plain, 4)
  if (count < 1 || count > PACK_MAX_ENTRIES || plain.length !== PACK_HEADER_FIXED_BYTES + count * PACK_ENTRY_BYTES) {
    throw objectCorrupt(name, 'header entry count does not match its length')
  }
  const entries: PackEntry[] = []
  let expectedOffset = 0
  for (let i = 0; i < count; i++) {
    const at = PACK_HEADER_FIXED_BYTES + i * PACK_ENTRY_BYTES
    const offsetBytes = readU64LE(plain, at + 32)
    const sealedBytes = readU32LE(plain, at + 40)
    const plainBytes = readU32LE(plain, at + 44)
    if (offsetBytes !== expectedOffset || sealedBytes !== plainBytes + ENVELOPE_OVERHEAD_BYTES || plainBytes > MAX_CHUNK_BYTES) {
      throw objectCorrupt(name, `header entry ${i} is inconsistent`)
    }
    expectedOffset += sealedBytes
    entries.push({ chunkId: asChunkId(plain.slice(at, at + 32)), offsetBytes, sealedBytes, plainBytes })
  }
  if (expectedOffset !== layout.headerOffset) throw objectCorrupt(name, 'header entries do not cover the pack body')
  return entries
}

/** Validates a whole pack's structure and returns its entries. */
export function readPackIndex(sodium: Sodium, packKey: Uint8Array, packId: PackId, object: Uint8Array): PackEntry[] {
  const layout = readTrailer(sodium, packKey, packId, object.length, object.subarray(object.length - PACK_TRAILER_BYTES))
  return readHeader(sodium, packKey, packId, layout, object.subarray(layout.headerOffset, layout.headerOffset + layout.headerEnvelopeBytes))
}

/**
 * Opens one chunk from its envelope bytes (a byte range of the pack). The id asked for is the
 * envelope's associated data, so only the envelope sealed for that id opens; no id is recomputed
 * (FORMAT §4). Throws CHUNK_CORRUPT naming the chunk and the pack. With `into` (exactly the
 * chunk's plaintext length), the plaintext is written there.
 */
export function openPackedChunk(
  sodium: Sodium,
  keys: Pick<PackKeys, 'chunkKey'>,
  packId: PackId,
  chunkId: ChunkId,
  envelope: Uint8Array,
  into?: Uint8Array,
): Uint8Array {
  const plain = openChunk(sodium, keys.chunkKey, chunkId, envelope, into)
  if (plain === null) throw packedChunkCorrupt(packId, chunkId)
  return plain
}

/** CHUNK_CORRUPT for a chunk of a pack whose envelope failed authentication (or is not of the chunk's length). */
export function packedChunkCorrupt(packId: PackId, chunkId: ChunkId): Error {
  return chunkCorrupt(shortHex(chunkId), shortHex(packId), 'envelope fails authentication (altered, truncated or swapped)')
}
