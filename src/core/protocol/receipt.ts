import type { Sodium } from '../ports/sodium.js'
import type { NodeIdentity } from '../identity.js'
import { asNodeId, asPackId, type NodeId, type PackId } from '../ids.js'
import { signatureInvalid } from '../errors.js'
import { toBase64, toHex } from '../../shared/bytes.js'
import { signingBytes } from './canonical.js'
import { base64Bytes, hexBytes, integer, object } from './fields.js'

export const RECEIPT_LABEL = 'quloud:receipt:v1'

/** A storage node's signed word that it keeps an object (docs/PROTOCOL.md §5.3). */
export interface Receipt {
  storageNodeId: NodeId
  objectId: PackId
  sizeBytes: number
  merkleRoot: Uint8Array
  storedAtMs: number
  signature: Uint8Array
}

const body = (r: Omit<Receipt, 'signature'>) => ({ storageNodeId: toHex(r.storageNodeId), objectId: toHex(r.objectId), sizeBytes: r.sizeBytes, merkleRoot: toHex(r.merkleRoot), storedAtMs: r.storedAtMs })

export function signReceipt(sodium: Sodium, identity: NodeIdentity, r: Omit<Receipt, 'signature' | 'storageNodeId'>): Receipt {
  const unsigned = { ...r, storageNodeId: identity.nodeId }
  return { ...unsigned, signature: sodium.sign(signingBytes(RECEIPT_LABEL, body(unsigned)), identity.secretKey) }
}

export const receiptToJson = (r: Receipt): Record<string, unknown> => ({ ...body(r), signature: toBase64(r.signature) })

/** An untrusted receipt, checked against the node that should have signed it and what was sent. */
export function verifyReceipt(sodium: Sodium, raw: unknown, expect: { storageNodeId: NodeId; objectId: PackId; sizeBytes: number; merkleRoot: Uint8Array }): Receipt {
  const o = object(raw, 'the receipt', ['storageNodeId', 'objectId', 'sizeBytes', 'merkleRoot', 'storedAtMs', 'signature'])
  const r: Receipt = {
    storageNodeId: asNodeId(hexBytes(o.storageNodeId, 'storageNodeId', 32)),
    objectId: asPackId(hexBytes(o.objectId, 'objectId', 32)),
    sizeBytes: integer(o.sizeBytes, 'sizeBytes', 1, Number.MAX_SAFE_INTEGER),
    merkleRoot: hexBytes(o.merkleRoot, 'merkleRoot', 32),
    storedAtMs: integer(o.storedAtMs, 'storedAtMs', 0, Number.MAX_SAFE_INTEGER),
    signature: base64Bytes(o.signature, 'signature', 64, 64),
  }
  const same = toHex(r.storageNodeId) === toHex(expect.storageNodeId) && toHex(r.objectId) === toHex(expect.objectId) && r.sizeBytes === expect.sizeBytes && toHex(r.merkleRoot) === toHex(expect.merkleRoot)
  if (!same) throw signatureInvalid('the receipt is for another node, object, size or Merkle root')
  if (!sodium.verify(r.signature, signingBytes(RECEIPT_LABEL, body(r)), r.storageNodeId)) throw signatureInvalid('the receipt signature does not verify')
  return r
}
