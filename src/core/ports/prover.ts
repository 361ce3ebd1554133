/** A Groth16 proof as snarkjs writes it: decimal strings of BN254 base-field coordinates. */
export interface Groth16Proof {
  pi_a: [string, string, string]
  pi_b: [[string, string], [string, string], [string, string]]
  pi_c: [string, string, string]
  protocol: 'groth16'
  curve: 'bn128'
}

/** The circuit inputs of one ownership proof (decimal strings, as the witness calculator takes). */
export interface OwnershipInput {
  proofKey: string
  objectIds: string[]
  commitments: string[]
  nonce: string
  nodeId: string
  action: string
}

/**
 * Makes ownership proofs with the owner's proving key.
 * - prove() MUST NOT run on the caller's event loop (worker threads): it takes ~0.5 s a batch.
 * - It rejects with PROOF_REJECTED when the input does not satisfy the circuit (wrong proofKey).
 * - close() ends its threads; calls after close reject with CLOSED.
 */
export interface Prover {
  prove(input: OwnershipInput): Promise<{ proof: Groth16Proof; publicSignals: string[] }>
  close(): Promise<void>
}

/**
 * Checks Groth16 proofs against a verification key.
 * - verify() resolves false (never throws) for a proof that does not verify; callers have
 *   already checked the proof's shape and that every signal is canonical.
 */
export interface ProofVerifier {
  verify(verificationKey: unknown, publicSignals: readonly string[], proof: Groth16Proof): Promise<boolean>
  /**
   * Start loading what verify() needs, in the background (the storage node calls it as it starts
   * and when a nonce is asked for), so that no proof waits for it. Never throws.
   */
  warm?(): void
}
