import { decodeCrockford, encodeCrockford, crockfordDigit } from '../../shared/crockford.js'
import { recoveryKeyInvalid } from '../errors.js'
import { MASTER_KEY_BYTES } from './keys.js'
import { bytesToBigIntBE } from './field.js'

/**
 * Recovery key text: the 32-byte master key as 52 Crockford base32 digits (big-endian), then two
 * check digits holding (key mod 1021), in nine groups of six joined by '-'.
 *
 * Why mod 1021: it is a prime above 32, so changing any one digit (a multiple d·32^k with
 * 0 < |d| < 32) and swapping two neighbouring digits (a multiple (a-b)·31·32^k) always change the
 * remainder: every single mistyped digit and every adjacent swap is caught, and a random error
 * slips through with probability 1/1021.
 */
export const RECOVERY_DATA_DIGITS = 52
export const RECOVERY_CHECK_DIGITS = 2
export const RECOVERY_CHECK_MODULUS = 1021n
export const RECOVERY_GROUP_DIGITS = 6

const TOTAL_DIGITS = RECOVERY_DATA_DIGITS + RECOVERY_CHECK_DIGITS

export function encodeRecoveryKey(masterKey: Uint8Array): string {
  if (masterKey.length !== MASTER_KEY_BYTES) throw new RangeError('master key must be 32 bytes')
  const value = bytesToBigIntBE(masterKey)
  const digits =
    encodeCrockford(value, RECOVERY_DATA_DIGITS) +
    encodeCrockford(value % RECOVERY_CHECK_MODULUS, RECOVERY_CHECK_DIGITS)
  const groups: string[] = []
  for (let i = 0; i < digits.length; i += RECOVERY_GROUP_DIGITS) groups.push(digits.slice(i, i + RECOVERY_GROUP_DIGITS))
  return groups.join('-')
}

/**
 * Parses what a person typed: case-insensitive, O read as 0 and I/L as 1, spaces and hyphens
 * ignored. Throws RECOVERY_KEY_INVALID naming the problem (never echoing the key).
 */
export function parseRecoveryKey(text: string): Uint8Array {
  const compact = text.replace(/[\s-]+/g, '')
  for (let i = 0; i < compact.length; i++) {
    if (crockfordDigit(compact[i] as string) === null) {
      throw recoveryKeyInvalid(`character ${i + 1} is not a recovery-key digit (U and punctuation never appear)`)
    }
  }
  if (compact.length !== TOTAL_DIGITS) {
    throw recoveryKeyInvalid(`it has ${compact.length} digits; a recovery key has ${TOTAL_DIGITS}`)
  }
  const value = decodeCrockford(compact.slice(0, RECOVERY_DATA_DIGITS))
  const check = decodeCrockford(compact.slice(RECOVERY_DATA_DIGITS))
  if (value === null || check === null) throw recoveryKeyInvalid('it contains a character that is not a digit')
  if (value >= 1n << 256n) throw recoveryKeyInvalid('the first digit is too large; check the first group')
  if (value % RECOVERY_CHECK_MODULUS !== check) {
    throw recoveryKeyInvalid('the check digits do not match; a digit is mistyped or two are swapped')
  }
  const out = new Uint8Array(MASTER_KEY_BYTES)
  let v = value
  for (let i = MASTER_KEY_BYTES - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn)
    v >>= 8n
  }
  return out
}
