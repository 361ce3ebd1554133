import type { PackId } from '../ids.js'
import { verifyMerkleProof, type MerkleProof, type Sha256 } from './merkle.js'

/** What the owner expects of one object in an audit: its size, its root, the leaves it drew. */
export interface AuditExpectation {
  objectId: PackId
  sizeBytes: number
  merkleRoot: Uint8Array
  leafIndices: readonly number[]
}

export type AuditVerdict = { ok: true } | { ok: false; reason: string }

/**
 * Checks a storage node's answer for one object against what the owner kept: the same size, one
 * proof per drawn leaf in the drawn order, each leaf and path leading to the kept root. Anything
 * else fails, with a reason for the logs (never the bytes).
 */
export function checkAuditAnswer(sodium: Sha256, want: AuditExpectation, got: { sizeBytes: number; proofs: MerkleProof[] } | undefined): AuditVerdict {
  if (!got) return { ok: false, reason: 'no answer for the object' }
  if (got.sizeBytes !== want.sizeBytes) return { ok: false, reason: `the peer says the object has ${got.sizeBytes} bytes, not ${want.sizeBytes}` }
  if (got.proofs.length !== want.leafIndices.length) return { ok: false, reason: `${got.proofs.length} leaves answered, ${want.leafIndices.length} asked` }
  for (let i = 0; i < want.leafIndices.length; i++) {
    const p = got.proofs[i] as MerkleProof
    if (p.leafIndex !== want.leafIndices[i]) return { ok: false, reason: `leaf ${p.leafIndex} answered where ${want.leafIndices[i]} was asked` }
    if (!verifyMerkleProof(sodium, want.merkleRoot, want.sizeBytes, p)) return { ok: false, reason: `leaf ${p.leafIndex} does not lead to the kept Merkle root` }
  }
  return { ok: true }
}
