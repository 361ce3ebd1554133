import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { Poseidon } from '../../core/ports/poseidon.js'
import { inputInvalid } from '../../core/errors.js'
import { BN254_SCALAR_MODULUS, isCanonicalFieldElement } from '../../core/crypto/index.js'

const P = BN254_SCALAR_MODULUS
const FULL_ROUNDS = 8
/** Partial rounds per width t = inputs + 1, as circomlib's poseidon.circom uses them. */
const PARTIAL_ROUNDS = [56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68]

interface Constants {
  /** Round constants per width (t − 2), flattened by round. */
  C: bigint[][]
  /** MDS matrix per width. */
  M: bigint[][][]
}

const pow5 = (a: bigint) => {
  const a2 = (a * a) % P
  return (((a2 * a2) % P) * a) % P
}

/**
 * Poseidon over BN254 with circomlib's round constants and matrices (read from circomlibjs's
 * constants file, so they are exactly the circuit's), in plain BigInt arithmetic. circomlibjs's
 * own builder sets up a WebAssembly curve with worker threads (~70 MB per process) for what is
 * one hash per 16 MiB pack here; this needs only the constants.
 */
export class CircomlibPoseidon implements Poseidon {
  private constructor(private readonly k: Constants) {}

  static async create(): Promise<CircomlibPoseidon> {
    const pkg = dirname(createRequire(import.meta.url).resolve('circomlibjs'))
    const raw = JSON.parse(await readFile(join(pkg, '..', 'src', 'poseidon_constants.json'), 'utf8')) as { C: string[][]; M: string[][][] }
    return new CircomlibPoseidon({ C: raw.C.map((r) => r.map((x) => BigInt(x))), M: raw.M.map((m) => m.map((r) => r.map((x) => BigInt(x)))) })
  }

  hash(inputs: readonly bigint[]): bigint {
    if (inputs.length < 1 || inputs.length > 16 || !inputs.every(isCanonicalFieldElement)) throw inputInvalid('poseidon takes 1 to 16 canonical field elements')
    const t = inputs.length + 1
    const C = this.k.C[t - 2] as bigint[]
    const M = this.k.M[t - 2] as bigint[][]
    const partial = PARTIAL_ROUNDS[t - 2] as number
    let state = [0n, ...inputs]
    for (let r = 0; r < FULL_ROUNDS + partial; r++) {
      state = state.map((a, i) => (a + (C[r * t + i] as bigint)) % P)
      if (r < FULL_ROUNDS / 2 || r >= FULL_ROUNDS / 2 + partial) state = state.map(pow5)
      else state[0] = pow5(state[0] as bigint)
      state = state.map((_, i) => {
        const row = M[i] as bigint[]
        let acc = 0n
        for (let j = 0; j < t; j++) acc += (row[j] as bigint) * (state[j] as bigint)
        return acc % P
      })
    }
    return state[0] as bigint
  }
}
