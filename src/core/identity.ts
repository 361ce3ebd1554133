import type { Sodium } from './ports/sodium.js'
import { asNodeId, type NodeId } from './ids.js'
import { fromBase64, toBase64 } from '../shared/bytes.js'
import { keyFileCorrupt } from './errors.js'

/**
 * The node's Ed25519 identity; node id = public key. Kept unencrypted (mode 0600) because a
 * locked node must still serve as a storage node:
 *   { "format": "quloud-identity", "version": 1, "seed": base64(32 bytes) }
 */
export interface NodeIdentity {
  nodeId: NodeId
  secretKey: Uint8Array
}

export function identityFromSeed(sodium: Sodium, seed: Uint8Array): NodeIdentity {
  const { publicKey, secretKey } = sodium.signKeyPairFromSeed(seed)
  return { nodeId: asNodeId(publicKey), secretKey }
}

export function encodeIdentityFile(seed: Uint8Array): string {
  return JSON.stringify({ format: 'quloud-identity', version: 1, seed: toBase64(seed) }, null, 2) + '\n'
}

export function decodeIdentityFile(sodium: Sodium, text: string): NodeIdentity {
  let doc: any
  try {
    doc = JSON.parse(text)
  } catch {
    throw keyFileCorrupt('identity.json is not valid JSON')
  }
  const seed = doc?.format === 'quloud-identity' && doc.version === 1 && typeof doc.seed === 'string' ? fromBase64(doc.seed) : null
  if (!seed || seed.length !== 32) throw keyFileCorrupt('identity.json is not a version 1 identity')
  return identityFromSeed(sodium, seed)
}
