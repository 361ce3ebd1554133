import type { Sodium } from '../core/ports/sodium.js'
import type { ChunkSealer, SealStream, SealingKeys, SealedChunk, LocalFileRead } from '../core/ports/chunk-sealer.js'
import { Chunker, DEFAULT_CHUNK_SIZES, type ChunkSizes } from '../core/chunking/index.js'
import { chunkIdOf, sealChunk } from '../core/crypto/index.js'
import { merkleRoot } from '../core/audit/index.js'
import { closed, inputInvalid } from '../core/errors.js'

/**
 * ChunkSealer on the calling thread: the reference the worker pool must agree with, and the
 * choice for tests and tiny jobs. sealLocalFile() is not offered (it needs the file system).
 */
export class InlineChunkSealer implements ChunkSealer {
  #closed = false

  constructor(private readonly sodium: Sodium) {}

  #check(): void {
    if (this.#closed) throw closed('chunk sealer')
  }

  #seal(keys: SealingKeys, chunk: Uint8Array): SealedChunk {
    const id = chunkIdOf(this.sodium, keys.idKey, chunk)
    return { id, plainBytes: chunk.length, envelope: sealChunk(this.sodium, keys.chunkKey, id, chunk) }
  }

  async sealWhole(keys: SealingKeys, data: Uint8Array, sizes: ChunkSizes = DEFAULT_CHUNK_SIZES): Promise<SealedChunk[]> {
    this.#check()
    const out: SealedChunk[] = []
    new Chunker(keys.gear, sizes).chunkAll(data, (c) => out.push(this.#seal(keys, c)))
    return out
  }

  async sealLocalFile(_keys: SealingKeys, _path: string): Promise<LocalFileRead> {
    throw inputInvalid('the inline sealer does not read files; read them through a SourceFs')
  }

  open(keys: SealingKeys, sizes: ChunkSizes = DEFAULT_CHUNK_SIZES): SealStream {
    this.#check()
    const chunker = new Chunker(keys.gear, sizes)
    const collect = async (feed: (emit: (c: Uint8Array) => void) => void) => {
      const out: SealedChunk[] = []
      feed((c) => out.push(this.#seal(keys, c)))
      return out
    }
    return {
      push: (piece) => collect((emit) => chunker.push(piece, emit)),
      finish: () => collect((emit) => chunker.finish(emit)),
    }
  }

  async merkleRoot(object: Uint8Array): Promise<Uint8Array> {
    this.#check()
    return merkleRoot(this.sodium, object)
  }

  async close(): Promise<void> {
    this.#closed = true
  }
}

