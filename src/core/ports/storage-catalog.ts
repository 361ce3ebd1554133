/**
 * The storage node's catalog of the objects it keeps for others: opaque rows (core/storage/
 * catalog.ts seals their contents and computes their tags), plus the owners' pinned verification
 * keys. Synchronous (SQLite in WAL mode behind it).
 * - insert() MUST be atomic and return false, changing nothing, when the object tag exists.
 * - delete() returns whether a row was removed.
 * - bytesBySender()/bytesTotal() sum sizeBytes over the rows present.
 * - pinOwner() MUST keep the first value for an owner tag and return the value now pinned.
 * - putPointer() MUST store atomically and only when seq is greater than the kept one; it returns
 *   whether it stored.
 * - insertBlob() returns false, changing nothing, when the blob tag exists.
 * - renewLease() keeps the later of the kept and the given time; lease() is null for an owner
 *   that never renewed; dropLease() forgets it.
 * - quota() is null for a sender without its own quota; setQuota(tag, null) removes it.
 */
export interface CatalogRow {
  objectTag: Uint8Array
  senderTag: Uint8Array
  ownerTag: Uint8Array
  sizeBytes: number
  sealedMeta: Uint8Array
}

export interface StorageCatalog {
  get(objectTag: Uint8Array): CatalogRow | null
  insert(row: CatalogRow): boolean
  delete(objectTag: Uint8Array): boolean
  bytesBySender(senderTag: Uint8Array): number
  bytesTotal(): number
  pinnedOwner(ownerTag: Uint8Array): Uint8Array | null
  pinOwner(ownerTag: Uint8Array, sealed: Uint8Array): Uint8Array
  rows(): Iterable<CatalogRow>
  pointer(locatorTag: Uint8Array): { seq: number; sealed: Uint8Array } | null
  putPointer(locatorTag: Uint8Array, seq: number, sealed: Uint8Array): boolean
  blob(blobTag: Uint8Array): { locatorTag: Uint8Array; sizeBytes: number } | null
  insertBlob(blob: { blobTag: Uint8Array; locatorTag: Uint8Array; sizeBytes: number }): boolean
  /** Bytes of public blobs under one locator, or under all of them. */
  blobBytes(locatorTag?: Uint8Array): number
  lease(ownerTag: Uint8Array): number | null
  renewLease(ownerTag: Uint8Array, atMs: number): void
  dropLease(ownerTag: Uint8Array): void
  quota(senderTag: Uint8Array): number | null
  setQuota(senderTag: Uint8Array, bytes: number | null): void
}
