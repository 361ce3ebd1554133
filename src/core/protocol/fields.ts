import { inputInvalid } from '../errors.js'
import { fromBase64, fromHex } from '../../shared/bytes.js'

/**
 * Validators for untrusted JSON on the wire. Each names the field it refuses, and objects with
 * fields the protocol does not define are refused (docs/PROTOCOL.md §2).
 */
export type Json = Record<string, unknown>

export function object(v: unknown, what: string, allowed: readonly string[]): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw inputInvalid(`${what} must be a JSON object`)
  for (const k of Object.keys(v)) if (!allowed.includes(k)) throw inputInvalid(`${what} has an unknown field "${k.slice(0, 40)}"`)
  return v as Json
}

export function hexBytes(v: unknown, what: string, length: number): Uint8Array {
  const out = typeof v === 'string' && v.length === length * 2 && /^[0-9a-f]+$/.test(v) ? fromHex(v) : null
  if (!out) throw inputInvalid(`${what} must be ${length} bytes in lowercase hex`)
  return out
}

export function base64Bytes(v: unknown, what: string, min: number, max: number): Uint8Array {
  const out = typeof v === 'string' && v.length <= Math.ceil(max / 3) * 4 ? fromBase64(v) : null
  if (!out || out.length < min || out.length > max) throw inputInvalid(`${what} must be base64 of ${min === max ? min : `${min} to ${max}`} bytes`)
  return out
}

export function integer(v: unknown, what: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw inputInvalid(`${what} must be an integer from ${min} to ${max}`)
  return v
}

export function text(v: unknown, what: string, re: RegExp, maxLength: number): string {
  if (typeof v !== 'string' || v.length > maxLength || !re.test(v)) throw inputInvalid(`${what} is malformed`)
  return v
}

export function list<T>(v: unknown, what: string, min: number, max: number, item: (x: unknown, what: string) => T): T[] {
  if (!Array.isArray(v) || v.length < min || v.length > max) throw inputInvalid(`${what} must be a list of ${min} to ${max} items`)
  return v.map((x, i) => item(x, `${what}[${i}]`))
}

/** Parses a JSON body of at most maxBytes; malformed or truncated JSON is INPUT_INVALID. */
export function parseJson(bytes: Uint8Array, what: string, maxBytes: number): unknown {
  if (bytes.length > maxBytes) throw inputInvalid(`${what} is larger than ${maxBytes} bytes`)
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch {
    throw inputInvalid(`${what} is not valid UTF-8 JSON`)
  }
}
