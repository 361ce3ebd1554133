import type { Sodium } from '../core/ports/sodium.js'
import type { IndexStore } from '../core/ports/index-store.js'
import type { ObjectStore } from '../core/ports/object-store.js'
import type { ChunkId, ShareId } from '../core/ids.js'
import { chunkMissing } from '../core/errors.js'
import { openPackedChunk } from '../core/pack/index.js'
import type { ShareKeys } from '../core/crypto/index.js'
import { shortHex } from '../shared/bytes.js'

/**
 * Reads chunks back through the index: one byte-range read of the pack per chunk, then
 * authenticated decryption and an id check (CHUNK_CORRUPT on any mismatch).
 */
export class ChunkReader {
  constructor(
    private readonly deps: { sodium: Sodium; index: IndexStore; objects: ObjectStore },
    private readonly shareId: ShareId,
    private readonly keys: ShareKeys,
  ) {}

  async read(chunkId: ChunkId): Promise<Uint8Array> {
    const loc = this.deps.index.findChunk(this.shareId, chunkId)
    if (!loc) throw chunkMissing(shortHex(chunkId))
    const envelope = await this.deps.objects.getRange(loc.packId, loc.offsetBytes, loc.sealedBytes)
    return openPackedChunk(this.deps.sodium, this.keys, loc.packId, chunkId, envelope)
  }

  async *readFile(chunkIds: readonly ChunkId[]): AsyncIterable<Uint8Array> {
    for (const id of chunkIds) yield await this.read(id)
  }
}
