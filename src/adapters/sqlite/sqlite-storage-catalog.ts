import Database from 'better-sqlite3'
import type { CatalogRow, StorageCatalog } from '../../core/ports/storage-catalog.js'
import { closed, indexCorrupt } from '../../core/errors.js'
import { Resource } from '../../shared/resource.js'
import { loadMigrations, migrate } from './migrate.js'

export const STORAGE_MIGRATIONS_DIR = new URL('./storage-migrations/', import.meta.url)

const bytes = (v: unknown): Uint8Array => {
  if (!(v instanceof Uint8Array)) throw indexCorrupt('a binary column of the storage catalog holds another type')
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
}
const toRow = (r: Record<string, unknown>): CatalogRow => ({ objectTag: bytes(r.object_tag), senderTag: bytes(r.sender_tag), ownerTag: bytes(r.owner_tag), sizeBytes: Number(r.size_bytes), sealedMeta: bytes(r.sealed_meta) })

const SQL = {
  get: 'SELECT * FROM stored_objects WHERE object_tag = ?',
  insert: 'INSERT OR IGNORE INTO stored_objects (object_tag, sender_tag, owner_tag, size_bytes, sealed_meta) VALUES (?, ?, ?, ?, ?)',
  delete: 'DELETE FROM stored_objects WHERE object_tag = ?',
  bySender: 'SELECT coalesce(sum(size_bytes), 0) AS n FROM stored_objects WHERE sender_tag = ?',
  total: 'SELECT coalesce(sum(size_bytes), 0) AS n FROM stored_objects',
  pinned: 'SELECT sealed FROM pinned_owners WHERE owner_tag = ?',
  pin: 'INSERT OR IGNORE INTO pinned_owners (owner_tag, sealed) VALUES (?, ?)',
  all: 'SELECT * FROM stored_objects',
  pointer: 'SELECT seq, sealed FROM pointers WHERE locator_tag = ?',
  putPointer: 'INSERT INTO pointers (locator_tag, seq, sealed) VALUES (?, ?, ?) ON CONFLICT (locator_tag) DO UPDATE SET seq = excluded.seq, sealed = excluded.sealed WHERE excluded.seq > pointers.seq',
  blob: 'SELECT locator_tag, size_bytes FROM blobs WHERE blob_tag = ?',
  insertBlob: 'INSERT OR IGNORE INTO blobs (blob_tag, locator_tag, size_bytes) VALUES (?, ?, ?)',
  blobBytesBy: 'SELECT coalesce(sum(size_bytes), 0) AS n FROM blobs WHERE locator_tag = ?',
  blobBytes: 'SELECT coalesce(sum(size_bytes), 0) AS n FROM blobs',
  lease: 'SELECT renewed_at_ms FROM leases WHERE owner_tag = ?',
  renewLease: 'INSERT INTO leases (owner_tag, renewed_at_ms) VALUES (?, ?) ON CONFLICT (owner_tag) DO UPDATE SET renewed_at_ms = max(renewed_at_ms, excluded.renewed_at_ms)',
  dropLease: 'DELETE FROM leases WHERE owner_tag = ?',
  quota: 'SELECT bytes FROM quotas WHERE sender_tag = ?',
  setQuota: 'INSERT INTO quotas (sender_tag, bytes) VALUES (?, ?) ON CONFLICT (sender_tag) DO UPDATE SET bytes = excluded.bytes',
  dropQuota: 'DELETE FROM quotas WHERE sender_tag = ?',
} as const

/** StorageCatalog on its own SQLite file (WAL, STRICT tables, numbered migrations); open() first. */
export class SqliteStorageCatalog extends Resource implements StorageCatalog {
  #db: Database.Database | null = null
  #stmts: Record<keyof typeof SQL, Database.Statement> | null = null

  constructor(readonly path: string) {
    super()
  }

  protected async onOpen(): Promise<void> {
    const db = new Database(this.path)
    this.#db = db
    db.pragma('journal_mode = WAL')
    // FULL: a stored object's row must survive power loss once its receipt has been sent.
    db.pragma('synchronous = FULL')
    migrate(db, loadMigrations(STORAGE_MIGRATIONS_DIR))
    this.#stmts = Object.fromEntries(Object.entries(SQL).map(([k, sql]) => [k, db.prepare(sql)])) as Record<keyof typeof SQL, Database.Statement>
  }

  protected async onClose(): Promise<void> {
    this.#stmts = null
    this.#db?.close()
    this.#db = null
  }

  get #stmt(): Record<keyof typeof SQL, Database.Statement> {
    if (!this.#stmts || this.closing) throw closed('storage catalog')
    return this.#stmts
  }

  get(objectTag: Uint8Array): CatalogRow | null {
    const r = this.#stmt.get.get(objectTag) as Record<string, unknown> | undefined
    return r ? toRow(r) : null
  }

  insert(row: CatalogRow): boolean {
    return this.#stmt.insert.run(row.objectTag, row.senderTag, row.ownerTag, row.sizeBytes, row.sealedMeta).changes === 1
  }

  delete(objectTag: Uint8Array): boolean {
    return this.#stmt.delete.run(objectTag).changes === 1
  }

  bytesBySender(senderTag: Uint8Array): number {
    return Number((this.#stmt.bySender.get(senderTag) as { n: number }).n)
  }

  bytesTotal(): number {
    return Number((this.#stmt.total.get() as { n: number }).n)
  }

  pinnedOwner(ownerTag: Uint8Array): Uint8Array | null {
    const r = this.#stmt.pinned.get(ownerTag) as { sealed: unknown } | undefined
    return r ? bytes(r.sealed) : null
  }

  pinOwner(ownerTag: Uint8Array, sealed: Uint8Array): Uint8Array {
    const stmt = this.#stmt
    return (this.#db as Database.Database).transaction(() => {
      stmt.pin.run(ownerTag, sealed)
      return bytes((stmt.pinned.get(ownerTag) as { sealed: unknown }).sealed)
    })()
  }

  pointer(locatorTag: Uint8Array): { seq: number; sealed: Uint8Array } | null {
    const r = this.#stmt.pointer.get(locatorTag) as { seq: number; sealed: unknown } | undefined
    return r ? { seq: Number(r.seq), sealed: bytes(r.sealed) } : null
  }

  putPointer(locatorTag: Uint8Array, seq: number, sealed: Uint8Array): boolean {
    return this.#stmt.putPointer.run(locatorTag, seq, sealed).changes === 1
  }

  blob(blobTag: Uint8Array): { locatorTag: Uint8Array; sizeBytes: number } | null {
    const r = this.#stmt.blob.get(blobTag) as { locator_tag: unknown; size_bytes: number } | undefined
    return r ? { locatorTag: bytes(r.locator_tag), sizeBytes: Number(r.size_bytes) } : null
  }

  insertBlob(blob: { blobTag: Uint8Array; locatorTag: Uint8Array; sizeBytes: number }): boolean {
    return this.#stmt.insertBlob.run(blob.blobTag, blob.locatorTag, blob.sizeBytes).changes === 1
  }

  blobBytes(locatorTag?: Uint8Array): number {
    return Number(((locatorTag ? this.#stmt.blobBytesBy.get(locatorTag) : this.#stmt.blobBytes.get()) as { n: number }).n)
  }

  lease(ownerTag: Uint8Array): number | null {
    const r = this.#stmt.lease.get(ownerTag) as { renewed_at_ms: number } | undefined
    return r ? Number(r.renewed_at_ms) : null
  }

  renewLease(ownerTag: Uint8Array, atMs: number): void {
    this.#stmt.renewLease.run(ownerTag, atMs)
  }

  dropLease(ownerTag: Uint8Array): void {
    this.#stmt.dropLease.run(ownerTag)
  }

  quota(senderTag: Uint8Array): number | null {
    const r = this.#stmt.quota.get(senderTag) as { bytes: number } | undefined
    return r ? Number(r.bytes) : null
  }

  setQuota(senderTag: Uint8Array, bytes: number | null): void {
    if (bytes === null) this.#stmt.dropQuota.run(senderTag)
    else this.#stmt.setQuota.run(senderTag, bytes)
  }

  *rows(): Iterable<CatalogRow> {
    for (const r of this.#stmt.all.iterate()) yield toRow(r as Record<string, unknown>)
  }

}
