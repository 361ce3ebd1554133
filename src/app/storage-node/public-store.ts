import type { Sodium } from '../../core/ports/sodium.js'
import type { ObjectStore } from '../../core/ports/object-store.js'
import type { StorageCatalog } from '../../core/ports/storage-catalog.js'
import { asPackId } from '../../core/ids.js'
import { indexCorrupt, inputInvalid, objectCorrupt, objectMissing, pointerStale, quotaExceeded } from '../../core/errors.js'
import { blobTag, locatorTag, openAtRest, openCatalogValue, sealAtRest, sealCatalogValue, type StorageKeys } from '../../core/storage/index.js'
import { verifyBlob, verifyPointer, type SignedPointer } from '../../core/protocol/index.js'
import { bytesEqual, fromBase64, shortHex, toBase64, toHex } from '../../shared/bytes.js'

export interface PublicLimits {
  maxBlobBytes: number
  /** All blobs under one locator together. */
  perLocatorBytes: number
  /** All public blobs this node keeps. */
  totalBlobBytes: number
}

export const DEFAULT_PUBLIC_LIMITS: Readonly<PublicLimits> = Object.freeze({
  maxBlobBytes: 16 * 1024 * 1024,
  perLocatorBytes: 64 * 1024 * 1024,
  totalBlobBytes: 1024 * 1024 * 1024,
})

/**
 * What anyone may read without a proof, but only a locator key may write (DESIGN §4): each share's
 * signed root pointer, newest sequence only, and public blobs (an owner's proving and verification
 * keys) named by their SHA-256. Kept under the node's at-rest layer like everything else.
 */
export class PublicStore {
  readonly limits: PublicLimits

  constructor(private readonly deps: { sodium: Sodium; keys: StorageKeys; catalog: StorageCatalog; objects: ObjectStore; limits?: Partial<PublicLimits> }) {
    this.limits = { ...DEFAULT_PUBLIC_LIMITS, ...deps.limits }
  }

  #locatorTag(locator: Uint8Array): Uint8Array {
    return locatorTag(this.deps.sodium, this.deps.keys, locator)
  }

  /** Keeps a pointer when its signature verifies and its sequence is newer than the kept one. */
  putPointer(locator: Uint8Array, raw: unknown): SignedPointer {
    const { sodium, keys, catalog } = this.deps
    const p = verifyPointer(sodium, raw, locator)
    const tag = this.#locatorTag(locator)
    const stored = { locator: toHex(p.locator), seq: p.seq, value: toBase64(p.value), signature: toBase64(p.signature) }
    if (!catalog.putPointer(tag, p.seq, sealCatalogValue(sodium, keys, tag, stored))) throw pointerStale(catalog.pointer(tag)?.seq ?? 0, p.seq)
    return p
  }

  getPointer(locator: Uint8Array): SignedPointer {
    const { sodium, keys, catalog } = this.deps
    const tag = this.#locatorTag(locator)
    const row = catalog.pointer(tag)
    if (!row) throw objectMissing(`pointer ${shortHex(locator)}`)
    const v = openCatalogValue(sodium, keys, tag, row.sealed) as Record<string, unknown>
    const value = fromBase64(String(v.value))
    const signature = fromBase64(String(v.signature))
    if (!value || !signature || v.seq !== row.seq) throw indexCorrupt('a kept pointer is malformed')
    return { locator, seq: row.seq, value, signature }
  }

  #blobName(locator: Uint8Array, sha256: Uint8Array) {
    const tag = blobTag(this.deps.sodium, this.deps.keys, locator, sha256)
    return { tag, name: asPackId(tag) }
  }

  async putBlob(locator: Uint8Array, sha256: Uint8Array, signature: Uint8Array, bytes: Uint8Array): Promise<void> {
    const { sodium, keys, catalog, objects } = this.deps
    if (bytes.length < 1 || bytes.length > this.limits.maxBlobBytes) throw quotaExceeded(`a public blob has 1 to ${this.limits.maxBlobBytes} bytes`)
    if (!bytesEqual(sodium.sha256(bytes), sha256)) throw inputInvalid('the blob does not have the SHA-256 it is named by')
    verifyBlob(sodium, signature, locator, sha256, bytes.length)
    const { tag, name } = this.#blobName(locator, sha256)
    if (catalog.blob(tag)) return
    const locatorTag = this.#locatorTag(locator)
    if (catalog.blobBytes(locatorTag) + bytes.length > this.limits.perLocatorBytes) throw quotaExceeded(`locator ${shortHex(locator)} would keep more than ${this.limits.perLocatorBytes} bytes of public blobs here`)
    if (catalog.blobBytes() + bytes.length > this.limits.totalBlobBytes) throw quotaExceeded('this node keeps no more public blobs')
    await objects.put(name, sealAtRest(sodium, keys.atRest, tag, bytes))
    catalog.insertBlob({ blobTag: tag, locatorTag, sizeBytes: bytes.length })
  }

  async getBlob(locator: Uint8Array, sha256: Uint8Array): Promise<Uint8Array> {
    const { sodium, keys, catalog, objects } = this.deps
    const { tag, name } = this.#blobName(locator, sha256)
    const short = `blob ${shortHex(sha256)}`
    if (!catalog.blob(tag)) throw objectMissing(short)
    const stored = await objects.get(name).catch(() => {
      throw objectCorrupt(short, 'the stored file is missing')
    })
    const bytes = openAtRest(sodium, keys.atRest, tag, short, stored)
    if (!bytesEqual(sodium.sha256(bytes), sha256)) throw objectCorrupt(short, 'the stored blob does not match its SHA-256')
    return bytes
  }
}
