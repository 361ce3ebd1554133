import type { Sodium } from '../ports/sodium.js'
import { deriveSubkey, KDF_CONTEXT } from '../crypto/kdf.js'
import { indexCorrupt, inputInvalid } from '../errors.js'
import { asNodeId, asPackId, type NodeId, type PackId } from '../ids.js'
import { fromBase64, toBase64, utf8 } from '../../shared/bytes.js'

/**
 * What a storage node knows about an object it keeps, sealed under its own catalog key before it
 * reaches SQLite (docs/FORMAT.md §9). Rows are found by keyed tags, so the catalog file alone
 * names no object and no node; sizes stay in the clear for quota sums (the stored files show
 * them anyway).
 */
export interface StoredObjectMeta {
  objectId: PackId
  /** The owner the object belongs to (whose verification key checks proofs for it). */
  ownerNodeId: NodeId
  /** The node that sent it and whose quota it counts against. */
  senderNodeId: NodeId
  /** Poseidon(proofKey, objectId) as a canonical decimal field element. */
  commitment: string
  merkleRoot: Uint8Array
  sizeBytes: number
  storedAtMs: number
}

export interface StorageKeys {
  atRest: Uint8Array
  catalog: Uint8Array
  tag: Uint8Array
}

export function deriveStorageKeys(sodium: Sodium, storageKey: Uint8Array): StorageKeys {
  return {
    atRest: deriveSubkey(sodium, storageKey, KDF_CONTEXT.STORE_AT_REST),
    catalog: deriveSubkey(sodium, storageKey, KDF_CONTEXT.STORE_CATALOG),
    tag: deriveSubkey(sodium, storageKey, KDF_CONTEXT.STORE_TAG),
  }
}

const OBJECT = utf8('object\0')
const NODE = utf8('node\0')
const tagOf = (sodium: Sodium, keys: StorageKeys, kind: Uint8Array, id: Uint8Array) => {
  const msg = new Uint8Array(kind.length + id.length)
  msg.set(kind)
  msg.set(id, kind.length)
  return sodium.hmacSha256(keys.tag, msg)
}
export const objectTag = (sodium: Sodium, keys: StorageKeys, objectId: Uint8Array): Uint8Array => tagOf(sodium, keys, OBJECT, objectId)
export const nodeTag = (sodium: Sodium, keys: StorageKeys, nodeId: Uint8Array): Uint8Array => tagOf(sodium, keys, NODE, nodeId)
const LOCATOR = utf8('locator\0')
const BLOB = utf8('blob\0')
/** Rows of a share pointer and of public blobs are found by the locator (and the blob's SHA-256). */
export const locatorTag = (sodium: Sodium, keys: StorageKeys, locator: Uint8Array): Uint8Array => tagOf(sodium, keys, LOCATOR, locator)
export const blobTag = (sodium: Sodium, keys: StorageKeys, locator: Uint8Array, sha256: Uint8Array): Uint8Array => {
  const id = new Uint8Array(locator.length + sha256.length)
  id.set(locator)
  id.set(sha256, locator.length)
  return tagOf(sodium, keys, BLOB, id)
}

const AD = utf8('quloud:catalog:v1\0')
const ad = (tag: Uint8Array) => {
  const out = new Uint8Array(AD.length + tag.length)
  out.set(AD)
  out.set(tag, AD.length)
  return out
}

/** nonce (24) || XChaCha20-Poly1305(catalog key, JSON, ad = label || row tag). */
export function sealCatalogValue(sodium: Sodium, keys: StorageKeys, tag: Uint8Array, value: unknown): Uint8Array {
  const nonce = sodium.randomBytes(24)
  const sealed = sodium.aeadSeal(keys.catalog, nonce, utf8(JSON.stringify(value)), ad(tag))
  const out = new Uint8Array(24 + sealed.length)
  out.set(nonce)
  out.set(sealed, 24)
  return out
}

export function openCatalogValue(sodium: Sodium, keys: StorageKeys, tag: Uint8Array, sealed: Uint8Array): unknown {
  const plain = sealed.length > 40 ? sodium.aeadOpen(keys.catalog, sealed.subarray(0, 24), sealed.subarray(24), ad(tag)) : null
  if (!plain) throw indexCorrupt('a storage catalog row fails authentication (wrong storage key or altered file)')
  return JSON.parse(new TextDecoder().decode(plain))
}

export function sealMeta(sodium: Sodium, keys: StorageKeys, meta: StoredObjectMeta): Uint8Array {
  return sealCatalogValue(sodium, keys, objectTag(sodium, keys, meta.objectId), {
    objectId: toBase64(meta.objectId),
    ownerNodeId: toBase64(meta.ownerNodeId),
    senderNodeId: toBase64(meta.senderNodeId),
    commitment: meta.commitment,
    merkleRoot: toBase64(meta.merkleRoot),
    sizeBytes: meta.sizeBytes,
    storedAtMs: meta.storedAtMs,
  })
}

export function openMeta(sodium: Sodium, keys: StorageKeys, tag: Uint8Array, sealed: Uint8Array): StoredObjectMeta {
  const v = openCatalogValue(sodium, keys, tag, sealed) as Record<string, unknown>
  const b64 = (x: unknown) => {
    const out = typeof x === 'string' ? fromBase64(x) : null
    if (!out) throw indexCorrupt('a storage catalog row holds a malformed value')
    return out
  }
  try {
    const merkleRoot = b64(v.merkleRoot)
    if (merkleRoot.length !== 32 || typeof v.commitment !== 'string' || !Number.isSafeInteger(v.sizeBytes) || !Number.isSafeInteger(v.storedAtMs)) throw inputInvalid('bad field')
    return { objectId: asPackId(b64(v.objectId)), ownerNodeId: asNodeId(b64(v.ownerNodeId)), senderNodeId: asNodeId(b64(v.senderNodeId)), commitment: v.commitment, merkleRoot, sizeBytes: v.sizeBytes as number, storedAtMs: v.storedAtMs as number }
  } catch {
    throw indexCorrupt('a storage catalog row holds a malformed value')
  }
}
