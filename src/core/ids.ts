/**
 * Branded identifiers. Each is a fixed-length byte string; the brand keeps a chunk id from being
 * passed where a pack id is expected. Construct them only through the as*() guards below, which
 * check the length.
 */
import { inputInvalid } from './errors.js'

export type ChunkId = Uint8Array & { readonly __brand: 'ChunkId' }
/** A pack is what storage nodes store: the "object". */
export type PackId = Uint8Array & { readonly __brand: 'PackId' }
export type ShareId = Uint8Array & { readonly __brand: 'ShareId' }
export type NodeId = Uint8Array & { readonly __brand: 'NodeId' }

export const CHUNK_ID_BYTES = 32 // HMAC-SHA-256 output
export const PACK_ID_BYTES = 32 // random
export const SHARE_ID_BYTES = 16 // random, chosen when a share is added
export const NODE_ID_BYTES = 32 // Ed25519 public key

function brand<T extends Uint8Array>(bytes: Uint8Array, length: number, what: string): T {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw inputInvalid(`${what} must be ${length} bytes`)
  }
  return bytes as T
}

export const asChunkId = (b: Uint8Array) => brand<ChunkId>(b, CHUNK_ID_BYTES, 'chunk id')
export const asPackId = (b: Uint8Array) => brand<PackId>(b, PACK_ID_BYTES, 'pack id')
export const asShareId = (b: Uint8Array) => brand<ShareId>(b, SHARE_ID_BYTES, 'share id')
export const asNodeId = (b: Uint8Array) => brand<NodeId>(b, NODE_ID_BYTES, 'node id')
