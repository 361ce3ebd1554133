/** The BN254 (alt_bn128) scalar field, the field Circom circuits and snarkjs work in. */
export const BN254_SCALAR_MODULUS =
  21888242871839275222246405745257275088548364400416034343698204186575808495617n

export function bytesToBigIntBE(bytes: Uint8Array): bigint {
  let v = 0n
  for (const b of bytes) v = (v << 8n) | BigInt(b)
  return v
}

/**
 * Maps 64 uniformly random bytes to a field element. Reducing a 512-bit value modulo the 254-bit
 * modulus leaves a bias below 2^-250: negligible. Zero is mapped to one so the result is never
 * the additive identity (a zero secret would make every commitment guessable).
 */
export function fieldElementFromWideBytes(bytes: Uint8Array): bigint {
  if (bytes.length !== 64) throw new RangeError('need 64 bytes for a field element')
  const v = bytesToBigIntBE(bytes) % BN254_SCALAR_MODULUS
  return v === 0n ? 1n : v
}

/** True for the canonical encoding range [0, modulus). */
export function isCanonicalFieldElement(v: bigint): boolean {
  return v >= 0n && v < BN254_SCALAR_MODULUS
}
