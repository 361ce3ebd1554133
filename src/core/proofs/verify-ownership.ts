import type { ProofVerifier } from '../ports/prover.js'
import { nonceInvalid, proofRejected } from '../errors.js'
import { isCanonicalFieldElement } from '../crypto/index.js'
import { nonceToField, type ProofAction } from './field-mapping.js'
import { parseGroth16Proof } from './proof-format.js'
import { publicSignals, OWNERSHIP_BATCH, type StatementItem } from './statement.js'
import type { NonceStore } from './nonce-store.js'

export interface OwnershipCheck {
  /** The owner's verification key, pinned at its first store. */
  verificationKey: unknown
  /** This node's id as a field element. */
  nodeId: bigint
  action: ProofAction
  /** From this node's own records: the ids asked for and the commitments stored with them. */
  items: readonly StatementItem[]
  /** The nonce the request names (this node issued it, or it is refused). */
  nonce: Uint8Array
  /** The proof exactly as received (untrusted JSON). */
  proof: unknown
}

/**
 * The storage node's check of an ownership proof. Order matters:
 * 1. the proof's shape and every coordinate are validated (INPUT_INVALID);
 * 2. the nonce is spent whether or not the proof turns out valid, so one nonce buys one attempt
 *    (NONCE_INVALID when unknown, used or expired);
 * 3. every public signal is rebuilt from this node's own state — its nonce, its id, the action
 *    it is about to perform, the stored commitments — and must be canonical;
 * 4. the Groth16 verifier runs against the pinned key (PROOF_REJECTED when it fails).
 */
export async function checkOwnershipProof(
  deps: { verifier: ProofVerifier; nonces: NonceStore },
  check: OwnershipCheck,
  batch = OWNERSHIP_BATCH,
): Promise<void> {
  const proof = parseGroth16Proof(check.proof)
  if (!deps.nonces.consume(check.nonce)) throw nonceInvalid()
  const signals = publicSignals(check.items, { nonce: nonceToField(check.nonce), nodeId: check.nodeId, action: check.action }, batch)
  if (!signals.every((s) => isCanonicalFieldElement(BigInt(s)))) throw proofRejected('a public signal is not a canonical field element')
  if (!(await deps.verifier.verify(check.verificationKey, signals, proof))) throw proofRejected('the proof does not verify for these objects, this node, this nonce and this action')
}
