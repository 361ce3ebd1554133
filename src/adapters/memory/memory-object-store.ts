import { checkRange, type ObjectReader, type ObjectStore, type PutOptions } from '../../core/ports/object-store.js'
import { asPackId, type PackId } from '../../core/ids.js'
import { closed, inputInvalid, objectMissing } from '../../core/errors.js'
import { fromHex, shortHex, toHex } from '../../shared/bytes.js'

/** ObjectStore in memory, for tests and --dry-run. Stores copies, returns copies. */
export class MemoryObjectStore implements ObjectStore {
  readonly #objects = new Map<string, Uint8Array>()

  async put(id: PackId, bytes: Uint8Array, opts: PutOptions = {}): Promise<void> {
    const key = toHex(id)
    if (!this.#objects.has(key)) this.#objects.set(key, bytes.slice())
    opts.onWritten?.()
  }

  #get(id: PackId): Uint8Array {
    const b = this.#objects.get(toHex(id))
    if (!b) throw objectMissing(shortHex(id))
    return b
  }

  async get(id: PackId): Promise<Uint8Array> {
    return this.#get(id).slice()
  }

  async getRange(id: PackId, offset: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
    return rangeOf(this.#get(id), id, offset, length, into)
  }

  async openReader(id: PackId): Promise<ObjectReader> {
    const b = this.#get(id)
    let open = true
    return {
      sizeBytes: b.length,
      read: async (offset, length, into) => {
        if (!open) throw closed(`the reader of object ${shortHex(id)}`)
        return rangeOf(b, id, offset, length, into)
      },
      close: async () => {
        open = false
      },
    }
  }

  async size(id: PackId): Promise<number> {
    return this.#get(id).length
  }

  async has(id: PackId): Promise<boolean> {
    return this.#objects.has(toHex(id))
  }

  async delete(id: PackId): Promise<void> {
    this.#objects.delete(toHex(id))
  }

  async *list(): AsyncIterable<PackId> {
    for (const key of [...this.#objects.keys()]) yield asPackId(fromHex(key) as Uint8Array)
  }
}

function rangeOf(b: Uint8Array, id: PackId, offset: number, length: number, into?: Uint8Array): Uint8Array {
  checkRange(offset, length, into)
  if (offset + length > b.length) throw inputInvalid(`range ${offset}+${length} ends past object ${shortHex(id)} (${b.length} bytes)`)
  if (!into) return b.slice(offset, offset + length)
  into.set(b.subarray(offset, offset + length))
  return into.subarray(0, length)
}
