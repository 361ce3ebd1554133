import { BN254_SCALAR_MODULUS, bytesToBigIntBE } from '../crypto/index.js'
import { inputInvalid } from '../errors.js'

/**
 * How protocol values become BN254 scalars (docs/FORMAT.md §8):
 * - object ids and node ids (32 bytes): the big-endian integer modulo r. Ids are random or public
 *   keys, so the 2^-250 chance that two distinct ids share an element is irrelevant.
 * - nonces: NONCE_BYTES = 31 random bytes as a big-endian integer, always below r.
 */
export const NONCE_BYTES = 31

export const ACTION_FIELD = { fetch: 1n, delete: 2n } as const
export type ProofAction = keyof typeof ACTION_FIELD

export function idToField(id: Uint8Array): bigint {
  if (id.length !== 32) throw inputInvalid('ids are 32 bytes')
  return bytesToBigIntBE(id) % BN254_SCALAR_MODULUS
}

export function nonceToField(nonce: Uint8Array): bigint {
  if (nonce.length !== NONCE_BYTES) throw inputInvalid(`nonces are ${NONCE_BYTES} bytes`)
  return bytesToBigIntBE(nonce)
}
