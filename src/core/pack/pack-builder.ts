import type { Sodium } from '../ports/sodium.js'
import { asPackId, type ChunkId, type PackId, PACK_ID_BYTES } from '../ids.js'
import { inputInvalid, invariant } from '../errors.js'
import { sealChunkInto, ENVELOPE_OVERHEAD_BYTES } from '../crypto/index.js'
import { MAX_CHUNK_BYTES } from '../chunking/index.js'
import { concatBytes, writeU32LE, writeU64LE } from '../../shared/bytes.js'
import { padmeLength } from './padme.js'
import { PackBuffers } from './pack-buffers.js'
import {
  PACK_ENTRY_BYTES, PACK_FORMAT_VERSION, PACK_HEADER_AD_TAG, PACK_HEADER_FIXED_BYTES, PACK_MAX_BYTES,
  PACK_NONCE_BYTES, PACK_TARGET_BYTES, PACK_TRAILER_AD_TAG, PACK_TRAILER_BYTES, PACK_TRAILER_PLAIN_BYTES,
} from './pack-format.js'

/** One chunk's place in a pack. */
export interface PackEntry {
  chunkId: ChunkId
  offsetBytes: number
  sealedBytes: number
  plainBytes: number
}

export interface SealedPack {
  packId: PackId
  /** The whole object, padded: what storage nodes receive. */
  bytes: Uint8Array
  entries: PackEntry[]
}

/** target.set(source, offset). */
export type CopyBytes = (target: Uint8Array, offset: number, source: Uint8Array) => void
const copyBytes: CopyBytes = (target, offset, source) => target.set(source, offset)

/** Caps the header (48 bytes an entry) so a pack of tiny files still fits PACK_MAX_BYTES. */
export const PACK_MAX_ENTRIES = 65_536

export interface PackKeys {
  chunkKey: Uint8Array
  packKey: Uint8Array
}

export function packAd(tag: number, packId: PackId): Uint8Array {
  return concatBytes([new Uint8Array([tag]), packId])
}

/**
 * Accumulates sealed chunks into one pack. add() until `full`, then seal(). A builder is reused:
 * seal() starts a new, empty pack.
 */
export class PackBuilder {
  readonly #sodium: Sodium
  readonly #keys: PackKeys
  readonly #targetBytes: number
  #buf: Uint8Array
  /** Where buffers come from and written packs' buffers go back: no 24 MiB allocation per pack. */
  readonly #buffers: PackBuffers
  #used = 0
  #entries: PackEntry[] = []
  /** Chosen when the pack gets its first chunk, so a chunk's place is known as soon as it is added. */
  #packId: PackId | null = null

  readonly #copy: CopyBytes

  /**
   * `buffers` lends pack memory (its own, plain and unshared, when absent; an ingest service
   * shares one between its runs); `copy` is target.set(source, offset), which may be replaced by
   * a faster one (V8 copies shared memory word by word).
   */
  constructor(
    sodium: Sodium,
    keys: PackKeys,
    { targetBytes = PACK_TARGET_BYTES, buffers = new PackBuffers(), copy = copyBytes }: { targetBytes?: number; buffers?: PackBuffers; copy?: CopyBytes } = {},
  ) {
    if (targetBytes < 1 || targetBytes > PACK_TARGET_BYTES) throw inputInvalid('pack target must be 1 B to 16 MiB')
    this.#sodium = sodium
    this.#keys = keys
    this.#targetBytes = targetBytes
    this.#buffers = buffers
    this.#copy = copy
    this.#buf = new Uint8Array(0)
  }

  get chunkCount(): number {
    return this.#entries.length
  }

  get bodyBytes(): number {
    return this.#used
  }

  /** The id the open pack will be sealed under (chosen at its first chunk); null while empty. */
  get packId(): PackId | null {
    return this.#packId
  }

  get full(): boolean {
    return this.#used >= this.#targetBytes || this.#entries.length >= PACK_MAX_ENTRIES
  }

  /** Seals one chunk into the pack; `nonce` is for known-answer vectors only. */
  add(chunkId: ChunkId, plaintext: Uint8Array, nonce?: Uint8Array): PackEntry {
    if (plaintext.length > MAX_CHUNK_BYTES) throw inputInvalid('chunk is larger than 4 MiB')
    const offset = this.#reserve()
    const sealedBytes = sealChunkInto(this.#sodium, this.#keys.chunkKey, chunkId, plaintext, this.#buf, offset, nonce)
    return this.#record({ chunkId, offsetBytes: offset, sealedBytes, plainBytes: plaintext.length })
  }

  /** Adds a chunk sealed elsewhere (a ChunkSealer) under the same chunk key. */
  addSealed(chunkId: ChunkId, envelope: Uint8Array, plainBytes: number): PackEntry {
    if (plainBytes > MAX_CHUNK_BYTES || envelope.length !== plainBytes + ENVELOPE_OVERHEAD_BYTES) throw inputInvalid('sealed chunk has the wrong length')
    const offset = this.#reserve()
    this.#copy(this.#buf, offset, envelope)
    return this.#record({ chunkId, offsetBytes: offset, sealedBytes: envelope.length, plainBytes })
  }

  #reserve(): number {
    invariant(!this.full, 'add() on a full pack')
    if (this.#buf.length === 0) this.#buf = this.#buffers.take()
    if (this.#entries.length === 0 && this.#packId === null) this.#packId = asPackId(this.#sodium.randomBytes(PACK_ID_BYTES))
    return this.#used
  }

  #record(entry: PackEntry): PackEntry {
    this.#used += entry.sealedBytes
    this.#entries.push(entry)
    return entry
  }

  /**
   * Hands a sealed pack's memory back once its bytes are no longer needed (written out). Safe to
   * reuse without clearing: seal() writes every byte of the range it returns.
   */
  recycle(pack: SealedPack): void {
    // A sealed pack's bytes are the first bytes of the buffer it was built in.
    const { buffer, byteOffset } = pack.bytes
    if (buffer.byteLength - byteOffset >= PACK_MAX_BYTES) this.#buffers.give(new Uint8Array(buffer, byteOffset, PACK_MAX_BYTES))
  }

  /**
   * Finishes the pack: header, padding, trailer. `packId` and `nonces` are for known-answer
   * vectors; production passes neither and gets a random id and nonces.
   */
  seal(fixed: { packId?: PackId; headerNonce?: Uint8Array; trailerNonce?: Uint8Array; padding?: (n: number) => Uint8Array } = {}): SealedPack {
    invariant(this.#entries.length > 0, 'seal() on an empty pack')
    const sodium = this.#sodium
    const packId = fixed.packId ?? this.#packId ?? asPackId(sodium.randomBytes(PACK_ID_BYTES))

    const header = new Uint8Array(PACK_HEADER_FIXED_BYTES + this.#entries.length * PACK_ENTRY_BYTES)
    writeU32LE(header, 0, PACK_FORMAT_VERSION)
    writeU32LE(header, 4, this.#entries.length)
    let at = PACK_HEADER_FIXED_BYTES
    for (const e of this.#entries) {
      header.set(e.chunkId, at)
      writeU64LE(header, at + 32, e.offsetBytes)
      writeU32LE(header, at + 40, e.sealedBytes)
      writeU32LE(header, at + 44, e.plainBytes)
      at += PACK_ENTRY_BYTES
    }
    const headerNonce = fixed.headerNonce ?? sodium.randomBytes(PACK_NONCE_BYTES)
    const headerSealed = sodium.aeadSeal(this.#keys.packKey, headerNonce, header, packAd(PACK_HEADER_AD_TAG, packId))
    const headerOffset = this.#used
    const headerEnvelopeBytes = PACK_NONCE_BYTES + headerSealed.length
    this.#buf.set(headerNonce, headerOffset)
    this.#buf.set(headerSealed, headerOffset + PACK_NONCE_BYTES)

    const unpadded = headerOffset + headerEnvelopeBytes + PACK_TRAILER_BYTES
    const total = padmeLength(unpadded)
    invariant(total <= PACK_MAX_BYTES, 'pack exceeds the maximum object size')
    const padBytes = total - unpadded
    const padStart = headerOffset + headerEnvelopeBytes
    if (padBytes > 0) this.#buf.set((fixed.padding ?? ((k) => sodium.randomBytes(k)))(padBytes), padStart)

    const trailer = new Uint8Array(PACK_TRAILER_PLAIN_BYTES)
    writeU64LE(trailer, 0, headerOffset)
    writeU32LE(trailer, 8, headerEnvelopeBytes)
    writeU32LE(trailer, 12, PACK_FORMAT_VERSION)
    const trailerNonce = fixed.trailerNonce ?? sodium.randomBytes(PACK_NONCE_BYTES)
    const trailerAt = total - PACK_TRAILER_BYTES
    this.#buf.set(trailerNonce, trailerAt)
    this.#buf.set(sodium.aeadSeal(this.#keys.packKey, trailerNonce, trailer, packAd(PACK_TRAILER_AD_TAG, packId)), trailerAt + PACK_NONCE_BYTES)

    const result: SealedPack = { packId, bytes: this.#buf.subarray(0, total), entries: this.#entries }
    this.#buf = new Uint8Array(0)
    this.#used = 0
    this.#entries = []
    this.#packId = null
    return result
  }
}
