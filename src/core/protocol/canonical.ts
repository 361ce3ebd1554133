import { inputInvalid } from '../errors.js'

/**
 * Canonical JSON for signatures (docs/PROTOCOL.md §2): UTF-8, no whitespace, object keys sorted
 * by UTF-16 code units, only strings, safe integers, booleans, null, arrays and plain objects.
 * Signer and verifier both serialise the parsed value, so formatting on the wire never matters.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw inputInvalid('signed messages carry only safe integers')
    return String(value)
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined)
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
  }
  throw inputInvalid('a signed message holds a value JSON cannot carry')
}

/** The bytes a signature covers: the domain label, a newline, then the canonical JSON. */
export function signingBytes(label: string, value: unknown): Uint8Array {
  return new TextEncoder().encode(`${label}\n${canonicalJson(value)}`)
}
