import type { CatalogRow, StorageCatalog } from '../../core/ports/storage-catalog.js'
import { toHex } from '../../shared/bytes.js'

/** StorageCatalog in memory, for tests and throwaway nodes. */
export class MemoryStorageCatalog implements StorageCatalog {
  readonly #rows = new Map<string, CatalogRow>()
  readonly #owners = new Map<string, Uint8Array>()

  get(objectTag: Uint8Array): CatalogRow | null {
    const r = this.#rows.get(toHex(objectTag))
    return r ? { ...r } : null
  }

  insert(row: CatalogRow): boolean {
    const k = toHex(row.objectTag)
    if (this.#rows.has(k)) return false
    this.#rows.set(k, { ...row, objectTag: row.objectTag.slice(), senderTag: row.senderTag.slice(), ownerTag: row.ownerTag.slice(), sealedMeta: row.sealedMeta.slice() })
    return true
  }

  delete(objectTag: Uint8Array): boolean {
    return this.#rows.delete(toHex(objectTag))
  }

  bytesBySender(senderTag: Uint8Array): number {
    const k = toHex(senderTag)
    let n = 0
    for (const r of this.#rows.values()) if (toHex(r.senderTag) === k) n += r.sizeBytes
    return n
  }

  bytesTotal(): number {
    let n = 0
    for (const r of this.#rows.values()) n += r.sizeBytes
    return n
  }

  pinnedOwner(ownerTag: Uint8Array): Uint8Array | null {
    return this.#owners.get(toHex(ownerTag))?.slice() ?? null
  }

  pinOwner(ownerTag: Uint8Array, sealed: Uint8Array): Uint8Array {
    const k = toHex(ownerTag)
    if (!this.#owners.has(k)) this.#owners.set(k, sealed.slice())
    return (this.#owners.get(k) as Uint8Array).slice()
  }

  *rows(): Iterable<CatalogRow> {
    for (const r of this.#rows.values()) yield { ...r }
  }
}
