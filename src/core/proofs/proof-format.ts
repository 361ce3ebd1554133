import type { Groth16Proof } from '../ports/prover.js'
import { inputInvalid } from '../errors.js'

/** The BN254 base field: proof coordinates are elements of it. */
export const BN254_BASE_MODULUS = 21888242871839275222246405745257275088696311157297823662689037894645226208583n

const DECIMAL = /^(0|[1-9][0-9]{0,77})$/

function coordinate(v: unknown, where: string): string {
  if (typeof v !== 'string' || !DECIMAL.test(v) || BigInt(v) >= BN254_BASE_MODULUS) {
    throw inputInvalid(`proof ${where} must be a canonical decimal field element`)
  }
  return v
}

function triple(v: unknown, where: string): [string, string, string] {
  if (!Array.isArray(v) || v.length !== 3) throw inputInvalid(`proof ${where} must have 3 coordinates`)
  return [coordinate(v[0], `${where}[0]`), coordinate(v[1], `${where}[1]`), coordinate(v[2], `${where}[2]`)]
}

/**
 * Validates untrusted proof JSON (already parsed) into a Groth16Proof: exact shape, no extra
 * fields, canonical decimal coordinates below the base-field modulus. Throws INPUT_INVALID with
 * what is wrong; never passes malformed data on to the pairing code.
 */
export function parseGroth16Proof(value: unknown): Groth16Proof {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw inputInvalid('proof must be a JSON object')
  const v = value as Record<string, unknown>
  const allowed = new Set(['pi_a', 'pi_b', 'pi_c', 'protocol', 'curve'])
  for (const k of Object.keys(v)) if (!allowed.has(k)) throw inputInvalid(`proof has an unknown field "${k}"`)
  if (v.protocol !== 'groth16' || v.curve !== 'bn128') throw inputInvalid('proof must be groth16 over bn128')
  if (!Array.isArray(v.pi_b) || v.pi_b.length !== 3) throw inputInvalid('proof pi_b must have 3 pairs')
  const pairs = v.pi_b.map((p, i) => {
    if (!Array.isArray(p) || p.length !== 2) throw inputInvalid(`proof pi_b[${i}] must be a pair`)
    return [coordinate(p[0], `pi_b[${i}][0]`), coordinate(p[1], `pi_b[${i}][1]`)] as [string, string]
  })
  return { pi_a: triple(v.pi_a, 'pi_a'), pi_b: pairs as Groth16Proof['pi_b'], pi_c: triple(v.pi_c, 'pi_c'), protocol: 'groth16', curve: 'bn128' }
}
