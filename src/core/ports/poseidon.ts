/**
 * The Poseidon hash over the BN254 scalar field, exactly as circomlib's Poseidon template
 * computes it (circomlibjs's constants). Inputs MUST be canonical field elements; the result is
 * one. Deterministic and synchronous.
 */
export interface Poseidon {
  hash(inputs: readonly bigint[]): bigint
}
