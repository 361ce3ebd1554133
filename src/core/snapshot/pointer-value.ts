import type { Sodium } from '../ports/sodium.js'
import { decryptFailed, inputInvalid } from '../errors.js'
import { asShareId, type ShareId } from '../ids.js'
import { concatBytes, fromHex, toHex } from '../../shared/bytes.js'
import { MAX_POINTER_VALUE_BYTES } from '../protocol/index.js'
import { decodeRefs, encodeRef, type ChunkRef } from './chunk-ref.js'
import { peerRefFromJson, peerRefToJson, type PeerRef } from './catalog.js'
import { checkEntryName } from './names.js'

const NONCE_BYTES = 24
export const POINTER_VALUE_VERSION = 1

/** Hashes of the owner's public proof keys, kept as public blobs under the owner locator. */
export interface ProofKeyHashes {
  provingKeySha256: Uint8Array
  verificationKeySha256: Uint8Array
}

/** The value of a share's pointer: where its catalog is, and how to prove ownership of its packs. */
export interface SharePointerValue extends ProofKeyHashes {
  catalog: ChunkRef[]
  /** Peers that hold the catalog's packs (a subset of the owner's peers). */
  peers: PeerRef[]
  ownerLocator: Uint8Array
}

export interface ShareSettings {
  shareId: ShareId
  name: string
  /** The folder on the owner's NAS (restores go elsewhere when it is gone). */
  path: string
  copies: number
  schedule: string | null
  watch: boolean
}

/** The owner pointer's value: the owner's shares, its peers and its proof keys. */
export interface OwnerPointerValue extends ProofKeyHashes {
  shares: ShareSettings[]
  peers: PeerRef[]
}

/** value = nonce(24) || XChaCha20-Poly1305(key, nonce, JSON, AD = locator). */
function seal(sodium: Sodium, key: Uint8Array, locator: Uint8Array, doc: unknown): Uint8Array {
  const nonce = sodium.randomBytes(NONCE_BYTES)
  const value = concatBytes([nonce, sodium.aeadSeal(key, nonce, new TextEncoder().encode(JSON.stringify(doc)), locator)])
  if (value.length > MAX_POINTER_VALUE_BYTES) throw inputInvalid(`the pointer value needs ${value.length} bytes; at most ${MAX_POINTER_VALUE_BYTES} fit (too many peers or catalog chunks)`)
  return value
}

function open(sodium: Sodium, key: Uint8Array, locator: Uint8Array, value: Uint8Array, what: string): Record<string, unknown> {
  const plain = value.length > NONCE_BYTES ? sodium.aeadOpen(key, value.subarray(0, NONCE_BYTES), value.subarray(NONCE_BYTES), locator) : null
  if (!plain) throw decryptFailed(what)
  try {
    const doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plain))
    if (doc?.v !== POINTER_VALUE_VERSION) throw new Error('version')
    return doc
  } catch {
    throw inputInvalid(`${what} has an unknown format`)
  }
}

function hash32(v: unknown, what: string): Uint8Array {
  const b = typeof v === 'string' ? fromHex(v) : null
  if (!b || b.length !== 32) throw inputInvalid(`${what} is malformed`)
  return b
}

const peersFrom = (v: unknown, what: string) => {
  if (!Array.isArray(v) || v.length > 16) throw inputInvalid(`${what} peers are malformed`)
  return v.map((p, i) => peerRefFromJson(p, `${what} peer ${i}`))
}

export function sealSharePointer(sodium: Sodium, key: Uint8Array, locator: Uint8Array, v: SharePointerValue): Uint8Array {
  return seal(sodium, key, locator, { v: POINTER_VALUE_VERSION, catalog: v.catalog.map(encodeRef), peers: v.peers.map(peerRefToJson), ownerLocator: toHex(v.ownerLocator), pk: toHex(v.provingKeySha256), vk: toHex(v.verificationKeySha256) })
}

export function openSharePointer(sodium: Sodium, key: Uint8Array, locator: Uint8Array, value: Uint8Array): SharePointerValue {
  const d = open(sodium, key, locator, value, 'the share pointer')
  return { catalog: decodeRefs(d.catalog, 'share pointer catalog'), peers: peersFrom(d.peers, 'share pointer'), ownerLocator: hash32(d.ownerLocator, 'owner locator'), provingKeySha256: hash32(d.pk, 'proving key hash'), verificationKeySha256: hash32(d.vk, 'verification key hash') }
}

const shareToJson = (s: ShareSettings) => ({ id: toHex(s.shareId), name: s.name, path: s.path, copies: s.copies, schedule: s.schedule, watch: s.watch })

export function sealOwnerPointer(sodium: Sodium, key: Uint8Array, locator: Uint8Array, v: OwnerPointerValue): Uint8Array {
  return seal(sodium, key, locator, { v: POINTER_VALUE_VERSION, shares: v.shares.map(shareToJson), peers: v.peers.map(peerRefToJson), pk: toHex(v.provingKeySha256), vk: toHex(v.verificationKeySha256) })
}

export function openOwnerPointer(sodium: Sodium, key: Uint8Array, locator: Uint8Array, value: Uint8Array): OwnerPointerValue {
  const d = open(sodium, key, locator, value, 'the owner pointer')
  if (!Array.isArray(d.shares)) throw inputInvalid('the owner pointer lists no shares')
  return {
    shares: d.shares.map((s: Record<string, unknown>, i: number) => {
      const id = typeof s?.id === 'string' ? fromHex(s.id) : null
      if (!id || id.length !== 16 || typeof s.path !== 'string' || !Number.isInteger(s.copies) || (s.schedule !== null && typeof s.schedule !== 'string') || typeof s.watch !== 'boolean') throw inputInvalid(`owner pointer share ${i} is malformed`)
      return { shareId: asShareId(id), name: checkEntryName(s.name), path: s.path, copies: s.copies as number, schedule: s.schedule as string | null, watch: s.watch }
    }),
    peers: peersFrom(d.peers, 'owner pointer'),
    provingKeySha256: hash32(d.pk, 'proving key hash'),
    verificationKeySha256: hash32(d.vk, 'verification key hash'),
  }
}
