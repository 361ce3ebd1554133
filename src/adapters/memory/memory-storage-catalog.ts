import type { CatalogRow, StorageCatalog } from '../../core/ports/storage-catalog.js'
import { toHex } from '../../shared/bytes.js'

/** StorageCatalog in memory, for tests and throwaway nodes. */
export class MemoryStorageCatalog implements StorageCatalog {
  readonly #rows = new Map<string, CatalogRow>()
  readonly #owners = new Map<string, Uint8Array>()
  readonly #pointers = new Map<string, { seq: number; sealed: Uint8Array }>()
  readonly #blobs = new Map<string, { locatorTag: Uint8Array; sizeBytes: number }>()
  readonly #leases = new Map<string, number>()
  readonly #quotas = new Map<string, number>()

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

  pointer(locatorTag: Uint8Array): { seq: number; sealed: Uint8Array } | null {
    const p = this.#pointers.get(toHex(locatorTag))
    return p ? { seq: p.seq, sealed: p.sealed.slice() } : null
  }

  putPointer(locatorTag: Uint8Array, seq: number, sealed: Uint8Array): boolean {
    const k = toHex(locatorTag)
    if ((this.#pointers.get(k)?.seq ?? 0) >= seq) return false
    this.#pointers.set(k, { seq, sealed: sealed.slice() })
    return true
  }

  blob(blobTag: Uint8Array): { locatorTag: Uint8Array; sizeBytes: number } | null {
    const b = this.#blobs.get(toHex(blobTag))
    return b ? { locatorTag: b.locatorTag.slice(), sizeBytes: b.sizeBytes } : null
  }

  insertBlob(blob: { blobTag: Uint8Array; locatorTag: Uint8Array; sizeBytes: number }): boolean {
    const k = toHex(blob.blobTag)
    if (this.#blobs.has(k)) return false
    this.#blobs.set(k, { locatorTag: blob.locatorTag.slice(), sizeBytes: blob.sizeBytes })
    return true
  }

  blobBytes(locatorTag?: Uint8Array): number {
    let n = 0
    for (const b of this.#blobs.values()) if (!locatorTag || toHex(b.locatorTag) === toHex(locatorTag)) n += b.sizeBytes
    return n
  }

  lease(ownerTag: Uint8Array): number | null {
    return this.#leases.get(toHex(ownerTag)) ?? null
  }

  renewLease(ownerTag: Uint8Array, atMs: number): void {
    const k = toHex(ownerTag)
    this.#leases.set(k, Math.max(this.#leases.get(k) ?? atMs, atMs))
  }

  dropLease(ownerTag: Uint8Array): void {
    this.#leases.delete(toHex(ownerTag))
  }

  quota(senderTag: Uint8Array): number | null {
    return this.#quotas.get(toHex(senderTag)) ?? null
  }

  setQuota(senderTag: Uint8Array, bytes: number | null): void {
    if (bytes === null) this.#quotas.delete(toHex(senderTag))
    else this.#quotas.set(toHex(senderTag), bytes)
  }

  *rows(): Iterable<CatalogRow> {
    for (const r of this.#rows.values()) yield { ...r }
  }
}
