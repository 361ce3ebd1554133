/** Crockford base32 digits: no I, L, O or U, so handwriting and reading aloud stay unambiguous. */
export const CROCKFORD_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

const DECODE: Record<string, number> = {}
for (let i = 0; i < CROCKFORD_ALPHABET.length; i++) DECODE[CROCKFORD_ALPHABET[i] as string] = i
// Crockford's decoding rules: letters that look like digits read as those digits.
DECODE['O'] = 0
DECODE['I'] = 1
DECODE['L'] = 1

/** Encodes a non-negative integer as exactly `digits` base32 digits, big-endian. */
export function encodeCrockford(value: bigint, digits: number): string {
  if (value < 0n || value >= 32n ** BigInt(digits)) throw new RangeError('value does not fit in the digits given')
  let out = ''
  let v = value
  for (let i = 0; i < digits; i++) {
    out = CROCKFORD_ALPHABET[Number(v & 31n)] + out
    v >>= 5n
  }
  return out
}

/** Digit value of one character (case-insensitive, O→0, I/L→1), or null when not a digit. */
export function crockfordDigit(ch: string): number | null {
  return DECODE[ch.toUpperCase()] ?? null
}

export function decodeCrockford(digits: string): bigint | null {
  let v = 0n
  for (const ch of digits) {
    const d = crockfordDigit(ch)
    if (d === null) return null
    v = (v << 5n) | BigInt(d)
  }
  return v
}
