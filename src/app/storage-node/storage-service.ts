import type { Sodium } from '../../core/ports/sodium.js'
import { READ_SLACK_BYTES, type ObjectReader, type ObjectStore } from '../../core/ports/object-store.js'
import type { StorageCatalog } from '../../core/ports/storage-catalog.js'
import type { Clock } from '../../core/ports/clock.js'
import { asPackId, type NodeId, type PackId } from '../../core/ids.js'
import { indexCorrupt, inputInvalid, objectConflict, objectCorrupt, objectMissing, ownerKeyMismatch, quotaExceeded } from '../../core/errors.js'
import { MerkleTree, leafCount, merkleRoot, type MerkleProof } from '../../core/audit/index.js'
import { isCanonicalFieldElement } from '../../core/crypto/index.js'
import { atRestBytes, AT_REST_HEADER_BYTES, AT_REST_MAX_PLAIN_BYTES, AT_REST_RECORD_BYTES, nodeTag, objectTag, openAtRest, openAtRestRange, openCatalogValue, openMeta, parseAtRestHeader, recordSpan, sealAtRest, sealCatalogValue, sealMeta, type AtRestHeader, type StorageKeys, type StoredObjectMeta } from '../../core/storage/index.js'
import { bytesEqual, shortHex, toBase64, fromBase64, toHex } from '../../shared/bytes.js'
import { BufferPool, type BufferPoolOptions, type PooledBytes } from '../../shared/buffer-pool.js'

/** snarkjs verification keys are ~8 KiB for our circuit; anything far larger is not one. */
export const MAX_OWNER_KEY_BYTES = 64 * 1024

const isCommitment = (v: string) => /^(0|[1-9][0-9]{0,76})$/.test(v) && isCanonicalFieldElement(BigInt(v))

export interface StorageLimits {
  /** Largest object accepted (packs are ~16 MiB). */
  maxObjectBytes: number
  /** Everything this node offers to others together. */
  capacityBytes: number
  /** What one sending node may use. */
  perSenderBytes: number
  /** Most leaves one audit request may ask for. */
  maxAuditLeaves: number
}

export const DEFAULT_STORAGE_LIMITS: Readonly<StorageLimits> = Object.freeze({
  maxObjectBytes: 64 * 1024 * 1024,
  capacityBytes: 10 * 1024 * 1024 * 1024,
  perSenderBytes: 2 * 1024 * 1024 * 1024,
  maxAuditLeaves: 64,
})

/**
 * Reused memory for objects passing through a storage node (bodies received, sealed copies): a
 * few packs of ~16 MiB, dropped after 30 s idle. See BufferPool for why.
 */
export const PACK_BUFFERS: Readonly<BufferPoolOptions> = Object.freeze({ maxIdle: 4, maxIdleBytes: 80 * 1024 * 1024, granule: 1024 * 1024, idleMs: 30_000 })

/**
 * Reused memory for ranges being served (their stored records, and the pieces sent): a few 1 MiB
 * pieces, dropped after 30 s idle.
 */
const READ_BUFFERS: Readonly<BufferPoolOptions> = Object.freeze({ maxIdle: 12, maxIdleBytes: 13 * 1024 * 1024, granule: 64 * 1024, idleMs: 30_000 })

export interface StoreRequest {
  objectId: PackId
  ownerNodeId: NodeId
  senderNodeId: NodeId
  commitment: string
  merkleRoot: Uint8Array
  /** SHA-256 of the owner's verification key, which the owner pinned here before (pinOwnerKey). */
  ownerKeyHash: Uint8Array
  bytes: Uint8Array
}

export interface StorageDeps {
  sodium: Sodium
  keys: StorageKeys
  catalog: StorageCatalog
  /** Where the at-rest sealed objects live, named by their catalog tags. */
  objects: ObjectStore
  clock: Clock
  limits?: Partial<StorageLimits>
}

/**
 * The storage node's keeping of other nodes' objects (DESIGN §5): checks and quotas, its own
 * encryption layer, atomic writes, the encrypted catalog, byte-range reads, audit answers from
 * the stored bytes, deletion. It never sees plaintext: what it keeps is the owner's ciphertext.
 *
 * Order of a store: validate → check the Merkle root against the bytes → pin or compare the
 * owner's key → reserve quota → write the sealed file (atomic) → insert the catalog row. A crash
 * between the last two leaves a file without a row, which is never served and never counted.
 */
export class StorageService {
  readonly limits: StorageLimits
  /** Bytes being written now, per sender tag (hex) and in total: quota checks count them. */
  readonly #reserved = new Map<string, number>()
  #reservedTotal = 0
  /** Memory for sealed objects between sealing and writing: a few packs' worth, reused. */
  readonly #sealed = new BufferPool(PACK_BUFFERS)
  /** Memory for ranges being served (stored records, pieces sent; about 1 MiB each), reused. */
  readonly #read = new BufferPool(READ_BUFFERS)

  constructor(private readonly deps: StorageDeps) {
    this.limits = { ...DEFAULT_STORAGE_LIMITS, ...deps.limits }
  }

  #tag(objectId: Uint8Array): { tag: Uint8Array; name: PackId } {
    const tag = objectTag(this.deps.sodium, this.deps.keys, objectId)
    return { tag, name: asPackId(tag) }
  }

  /** Stores an object; storing the same object again is a no-op that returns the same record. */
  async store(req: StoreRequest): Promise<StoredObjectMeta> {
    const { sodium, keys, catalog, objects, clock } = this.deps
    const short = shortHex(req.objectId)
    const size = req.bytes.length
    if (size < 1) throw inputInvalid('an object must not be empty')
    if (size > Math.min(this.limits.maxObjectBytes, AT_REST_MAX_PLAIN_BYTES)) throw quotaExceeded(`object ${short} has ${size} bytes; this node accepts at most ${this.limits.maxObjectBytes}`)
    if (!isCommitment(req.commitment)) throw inputInvalid('the commitment must be a canonical decimal field element')
    if (req.merkleRoot.length !== 32 || req.ownerKeyHash.length !== 32) throw inputInvalid('the Merkle root and the owner key hash must be 32 bytes')
    if (!bytesEqual(merkleRoot(sodium, req.bytes), req.merkleRoot)) throw objectCorrupt(short, 'the bytes received do not match the Merkle root sent with them')

    const ownerTag = nodeTag(sodium, keys, req.ownerNodeId)
    const pinned = this.ownerKey(req.ownerNodeId)
    if (!pinned) throw ownerKeyMismatch(shortHex(req.ownerNodeId), 'has no verification key pinned here yet: the owner must send it first')
    if (!bytesEqual(pinned.sha256, req.ownerKeyHash)) throw ownerKeyMismatch(shortHex(req.ownerNodeId))

    const { tag, name } = this.#tag(req.objectId)
    const existing = catalog.get(tag)
    if (existing) {
      const meta = openMeta(sodium, keys, tag, existing.sealedMeta)
      const same = meta.sizeBytes === size && meta.commitment === req.commitment && bytesEqual(meta.merkleRoot, req.merkleRoot) && bytesEqual(meta.ownerNodeId, req.ownerNodeId)
      if (!same) throw objectConflict(short)
      return meta
    }

    const senderTag = nodeTag(sodium, keys, req.senderNodeId)
    const senderKey = toHex(senderTag)
    const senderUsed = catalog.bytesBySender(senderTag) + (this.#reserved.get(senderKey) ?? 0)
    const senderQuota = catalog.quota(senderTag) ?? this.limits.perSenderBytes
    if (senderUsed + size > senderQuota) throw quotaExceeded(`node ${shortHex(req.senderNodeId)} would use ${senderUsed + size} bytes here; its quota is ${senderQuota}`)
    const totalUsed = catalog.bytesTotal() + this.#reservedTotal
    if (totalUsed + size > this.limits.capacityBytes) throw quotaExceeded(`this node offers ${this.limits.capacityBytes} bytes and has ${this.limits.capacityBytes - totalUsed} left`)
    this.#reserved.set(senderKey, (this.#reserved.get(senderKey) ?? 0) + size)
    this.#reservedTotal += size
    try {
      const meta: StoredObjectMeta = { objectId: req.objectId, ownerNodeId: req.ownerNodeId, senderNodeId: req.senderNodeId, commitment: req.commitment, merkleRoot: req.merkleRoot.slice(), sizeBytes: size, storedAtMs: clock.nowMs() }
      // Sealed into reused memory, given back as soon as the store has written it (not synced).
      const sealed = this.#sealed.take(atRestBytes(size))
      try {
        await objects.put(name, sealAtRest(sodium, keys.atRest, req.objectId, req.bytes, { into: sealed.bytes }), { onWritten: sealed.release })
      } finally {
        sealed.release()
      }
      // A store renews its owner's lease: an owner that still backs up here is still here.
      catalog.renewLease(ownerTag, meta.storedAtMs)
      if (!catalog.insert({ objectTag: tag, senderTag, ownerTag, sizeBytes: size, sealedMeta: sealMeta(sodium, keys, meta) })) {
        // Another store of the same id won the race; it must be the same object.
        const other = openMeta(sodium, keys, tag, (catalog.get(tag) as { sealedMeta: Uint8Array }).sealedMeta)
        if (!bytesEqual(other.merkleRoot, meta.merkleRoot)) throw objectConflict(short)
        return other
      }
      return meta
    } finally {
      this.#reserved.set(senderKey, (this.#reserved.get(senderKey) ?? size) - size)
      if (this.#reserved.get(senderKey) === 0) this.#reserved.delete(senderKey)
      this.#reservedTotal -= size
    }
  }

  meta(objectId: PackId): StoredObjectMeta | null {
    const { sodium, keys, catalog } = this.deps
    const { tag } = this.#tag(objectId)
    const row = catalog.get(tag)
    return row ? openMeta(sodium, keys, tag, row.sealedMeta) : null
  }

  #known(objectId: PackId): { meta: StoredObjectMeta; name: PackId } {
    const meta = this.meta(objectId)
    if (!meta) throw objectMissing(shortHex(objectId))
    return { meta, name: this.#tag(objectId).name }
  }

  /**
   * Pins an owner's verification key (the exact bytes of its JSON) at the owner's first call; the
   * same key again is a no-op, another one is OWNER_KEY_MISMATCH. Returns its SHA-256.
   */
  pinOwnerKey(ownerNodeId: NodeId, keyBytes: Uint8Array): Uint8Array {
    const { sodium, keys, catalog } = this.deps
    if (keyBytes.length < 2 || keyBytes.length > MAX_OWNER_KEY_BYTES) throw inputInvalid(`a verification key has 2 to ${MAX_OWNER_KEY_BYTES} bytes`)
    let parsed: unknown
    try {
      parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(keyBytes))
    } catch {
      throw inputInvalid('the verification key is not UTF-8 JSON')
    }
    if (typeof parsed !== 'object' || parsed === null || (parsed as { protocol?: unknown }).protocol !== 'groth16' || (parsed as { curve?: unknown }).curve !== 'bn128') throw inputInvalid('the verification key is not a Groth16 BN254 key')
    const sha256 = sodium.sha256(keyBytes)
    const ownerTag = nodeTag(sodium, keys, ownerNodeId)
    catalog.pinOwner(ownerTag, sealCatalogValue(sodium, keys, ownerTag, { sha256: toBase64(sha256), key: toBase64(keyBytes) }))
    const now = this.ownerKey(ownerNodeId)
    if (!now || !bytesEqual(now.sha256, sha256)) throw ownerKeyMismatch(shortHex(ownerNodeId))
    return sha256
  }

  /** The verification key pinned for an owner (its bytes, parsed, and SHA-256), or null. */
  ownerKey(ownerNodeId: NodeId): { sha256: Uint8Array; bytes: Uint8Array; key: unknown } | null {
    const { sodium, keys, catalog } = this.deps
    const ownerTag = nodeTag(sodium, keys, ownerNodeId)
    const sealed = catalog.pinnedOwner(ownerTag)
    if (!sealed) return null
    const v = openCatalogValue(sodium, keys, ownerTag, sealed) as { sha256?: unknown; key?: unknown }
    const sha256 = fromBase64(String(v.sha256))
    const bytes = fromBase64(String(v.key))
    if (!sha256 || !bytes) throw indexCorrupt('a pinned owner key is malformed')
    return { sha256, bytes, key: JSON.parse(new TextDecoder().decode(bytes)) }
  }

  /** The catalog record and the checked at-rest header of a kept object: what every read needs once. */
  async #opened(objectId: PackId): Promise<{ name: PackId; short: string; meta: StoredObjectMeta; header: AtRestHeader }> {
    const { meta, name } = this.#known(objectId)
    const short = shortHex(objectId)
    const stored = await this.deps.objects.getRange(name, 0, AT_REST_HEADER_BYTES).catch(() => {
      throw objectCorrupt(short, 'the stored file is missing or truncated')
    })
    const header = parseAtRestHeader(stored, short)
    if (header.plainBytes !== meta.sizeBytes) throw objectCorrupt(short, 'the stored size differs from the catalog')
    return { name, short, meta, header }
  }

  /** The stored records of plaintext [offset, offset + length), read into reused memory (release it). */
  async #records(o: { name: PackId; short: string; header: AtRestHeader }, offset: number, length: number, reader?: ObjectReader): Promise<{ records: Uint8Array; sealed: PooledBytes }> {
    const span = recordSpan(o.header.plainBytes, offset, length)
    // Room for the reader to line the records up with the disk's blocks (read in place, no copy).
    const sealed = this.#read.take(span.byteLength + (reader ? READ_SLACK_BYTES : 0))
    try {
      const read = reader ? reader.read(span.byteOffset, span.byteLength, sealed.bytes) : this.deps.objects.getRange(o.name, span.byteOffset, span.byteLength, sealed.bytes)
      const records = await read.catch(() => {
        throw objectCorrupt(o.short, 'the stored file is truncated')
      })
      return { records, sealed }
    } catch (err) {
      sealed.release()
      throw err
    }
  }

  async #range(o: { name: PackId; short: string; header: AtRestHeader }, objectId: PackId, offset: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
    // The stored records are needed only until they are opened: reused memory.
    const { records, sealed } = await this.#records(o, offset, length)
    try {
      return openAtRestRange(this.deps.sodium, this.deps.keys.atRest, objectId, o.short, o.header, records, offset, length, into)
    } finally {
      sealed.release()
    }
  }

  /** Bytes [offset, offset + length) of an object as the owner sent them, opening only the records needed. */
  async read(objectId: PackId, offset = 0, length?: number): Promise<Uint8Array> {
    const o = await this.#opened(objectId)
    return this.#range(o, objectId, offset, length ?? o.meta.sizeBytes - offset)
  }

  /**
   * The same bytes as read(), as a stream of pieces of about 1 MiB (16 records each), so a large
   * fetch never holds the whole object. The object is opened and its header read once. Damage found
   * midway throws OBJECT_CORRUPT from the iterator; what was yielded before it is correct.
   * One reused buffer carries every piece: a piece is valid only until the next one is asked for.
   */
  async *readStream(objectId: PackId, offset = 0, length?: number): AsyncGenerator<Uint8Array> {
    const o = await this.#opened(objectId)
    const len = length ?? o.meta.sizeBytes - offset
    recordSpan(o.meta.sizeBytes, offset, len)
    const PIECE = 16 * AT_REST_RECORD_BYTES
    const pieces: Array<{ at: number; length: number }> = []
    for (let at = offset; at < offset + len; ) {
      const end = Math.min(offset + len, (Math.floor(at / PIECE) + 1) * PIECE)
      pieces.push({ at, length: end - at })
      at = end
    }
    // The object is opened once for all its pieces (where the store can), not once for each.
    const reader = await this.deps.objects.openReader?.(o.name).catch(() => {
      throw objectCorrupt(o.short, 'the stored file is missing')
    })
    const out = this.#read.take(Math.min(len, PIECE))
    // The disk reads the next piece's records while this one is opened and sent.
    const read = (i: number) => {
      const p = pieces[i]
      if (!p) return null
      const records = this.#records(o, p.at, p.length, reader)
      records.catch(() => {}) // thrown where it is awaited
      return records
    }
    let next = read(0)
    try {
      for (let i = 0; next; i++) {
        const { records, sealed } = await next
        next = read(i + 1)
        const p = pieces[i] as { at: number; length: number }
        let piece: Uint8Array
        try {
          piece = openAtRestRange(this.deps.sodium, this.deps.keys.atRest, objectId, o.short, o.header, records, p.at, p.length, out.bytes)
        } finally {
          sealed.release()
        }
        yield piece
      }
    } finally {
      out.release()
      // A read still on its way when the stream stopped: its memory returns when it lands, and
      // the object is closed only then (the read uses its descriptor).
      await next?.then((r) => r.sealed.release(), () => {})
      await reader?.close()
    }
  }

  /** Audit answer: the requested 4 KiB leaves and their Merkle paths, computed from the stored bytes. */
  async audit(objectId: PackId, leafIndices: readonly number[]): Promise<MerkleProof[]> {
    const { sodium, keys, objects } = this.deps
    const { meta, name } = this.#known(objectId)
    if (leafIndices.length < 1 || leafIndices.length > this.limits.maxAuditLeaves) throw inputInvalid(`an audit asks for 1 to ${this.limits.maxAuditLeaves} leaves`)
    const leaves = leafCount(meta.sizeBytes)
    for (const i of leafIndices) if (!Number.isSafeInteger(i) || i < 0 || i >= leaves) throw inputInvalid(`leaf ${i} is outside the object (${leaves} leaves)`)
    const short = shortHex(objectId)
    const stored = await objects.get(name).catch(() => {
      throw objectCorrupt(short, 'the stored file is missing')
    })
    const tree = new MerkleTree(sodium, openAtRest(sodium, keys.atRest, objectId, short, stored))
    return leafIndices.map((i) => tree.proof(i))
  }

  /** Removes an object; false when it was not stored. The row goes first, so a crash leaves only an unserved file. */
  async delete(objectId: PackId): Promise<boolean> {
    const { name, tag } = this.#tag(objectId)
    if (!this.deps.catalog.delete(tag)) return false
    await this.deps.objects.delete(name)
    return true
  }

  /**
   * One signed renewal per owner and period keeps all of that owner's objects here (docs/PROTOCOL.md
   * §5.8). Only an owner with a key pinned here has a lease to renew; returns the renewal time.
   */
  renewLease(ownerNodeId: NodeId): number {
    const { sodium, keys, catalog, clock } = this.deps
    if (!this.ownerKey(ownerNodeId)) throw objectMissing(`any object of owner ${shortHex(ownerNodeId)}`)
    const now = clock.nowMs()
    catalog.renewLease(nodeTag(sodium, keys, ownerNodeId), now)
    return now
  }

  /** When an owner's lease was last renewed (null: never, e.g. objects stored before leases existed). */
  leaseOf(ownerNodeId: NodeId): number | null {
    return this.deps.catalog.lease(nodeTag(this.deps.sodium, this.deps.keys, ownerNodeId))
  }

  /**
   * Deletes the objects of every owner whose lease ran out (`leaseMs` since its last renewal or
   * store). An owner with objects but no lease yet (stored before leases existed) gets one now,
   * so an upgrade never deletes anything at once.
   */
  async sweepLeases(leaseMs: number): Promise<{ objects: number; bytes: number }> {
    const { catalog, clock, objects } = this.deps
    const now = clock.nowMs()
    const expired = new Map<string, boolean>()
    const doomed: Array<{ tag: Uint8Array; sizeBytes: number }> = []
    // Read all rows first: the catalog may not be written while it is being iterated.
    const rows = Array.from(catalog.rows(), (r) => ({ ownerTag: r.ownerTag, objectTag: r.objectTag, sizeBytes: r.sizeBytes }))
    for (const row of rows) {
      const k = toHex(row.ownerTag)
      let gone = expired.get(k)
      if (gone === undefined) {
        const at = catalog.lease(row.ownerTag)
        if (at === null) catalog.renewLease(row.ownerTag, now)
        gone = at !== null && at + leaseMs <= now
        expired.set(k, gone)
      }
      if (gone) doomed.push({ tag: row.objectTag, sizeBytes: row.sizeBytes })
    }
    let bytes = 0
    for (const d of doomed) {
      if (!catalog.delete(d.tag)) continue
      await objects.delete(asPackId(d.tag))
      bytes += d.sizeBytes
    }
    return { objects: doomed.length, bytes }
  }

  /**
   * Who stores here (each sender once, from its objects' sealed records), what each uses and its
   * quota: for the settings page, where the node's admin may give one sender more or less room.
   */
  senders(): Array<{ senderNodeId: NodeId; usedBytes: number; quotaBytes: number; ownQuota: boolean }> {
    const { sodium, keys, catalog } = this.deps
    const seen = new Map<string, { senderNodeId: NodeId; usedBytes: number; tag: Uint8Array }>()
    const rows = Array.from(catalog.rows(), (r) => ({ objectTag: r.objectTag, senderTag: r.senderTag, sizeBytes: r.sizeBytes, sealedMeta: r.sealedMeta }))
    for (const r of rows) {
      const k = toHex(r.senderTag)
      const s = seen.get(k)
      if (s) s.usedBytes += r.sizeBytes
      else seen.set(k, { senderNodeId: openMeta(sodium, keys, r.objectTag, r.sealedMeta).senderNodeId, usedBytes: r.sizeBytes, tag: r.senderTag })
    }
    return [...seen.values()].map((s) => {
      const own = catalog.quota(s.tag)
      return { senderNodeId: s.senderNodeId, usedBytes: s.usedBytes, quotaBytes: own ?? this.limits.perSenderBytes, ownQuota: own !== null }
    })
  }

  /** Gives one sender its own quota (null: back to the node's default). Objects already kept stay. */
  setSenderQuota(senderNodeId: NodeId, bytes: number | null): void {
    if (bytes !== null && (!Number.isSafeInteger(bytes) || bytes < 0)) throw inputInvalid('a quota is a whole number of bytes, 0 or more')
    this.deps.catalog.setQuota(nodeTag(this.deps.sodium, this.deps.keys, senderNodeId), bytes)
  }

  usage(senderNodeId?: NodeId): { usedBytes: number; capacityBytes: number; senderBytes?: number } {
    const { sodium, keys, catalog } = this.deps
    const out: { usedBytes: number; capacityBytes: number; senderBytes?: number } = { usedBytes: catalog.bytesTotal(), capacityBytes: this.limits.capacityBytes }
    if (senderNodeId) out.senderBytes = catalog.bytesBySender(nodeTag(sodium, keys, senderNodeId))
    return out
  }
}
