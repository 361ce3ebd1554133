import { createRequire } from 'node:module'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/**
 * msm(1 | 2, affine LEM bases, 32-byte LE scalars) → Jacobian LEM point (native/bn254/msm.h).
 * `portable` forces the portable C arithmetic instead of the BMI2/ADX one (tests compare them).
 */
export type NativeMsm = (group: 1 | 2, bases: Uint8Array, scalars: Uint8Array, portable?: boolean) => Promise<Uint8Array>

/**
 * The rest of a Groth16 proof in C (native/bn254/msm.h): quotient(coefficients, witness, nVars, bits)
 * gives the scalars for the key's H points; finish(sums, scalars) adds α, β, δ and the blinding and
 * returns the proof's affine points (A G1, B G2, C G1; LE Montgomery, 256 bytes).
 */
export interface NativeGroth16 {
  quotient(coefficients: Uint8Array, witness: Uint8Array, nVars: number, bits: number): Promise<Uint8Array>
  finish(sums: Uint8Array, scalars: Uint8Array, portable?: boolean): Uint8Array
}

/** Where `npm install` builds the module (binding.gyp at the project root). */
export const NATIVE_MSM_PATH = fileURLToPath(new URL('../../../native/bn254/build/Release/bn254_msm.node', import.meta.url))

let loaded: NativeMsm | null | undefined
let groth16: NativeGroth16 | null = null
let adx = false

/**
 * The native BN254 multi-exponentiation, or null when it was not built (no compiler at install
 * time) or QULOUD_NATIVE_MSM=0 turns it off; the prover then uses ffjavascript's WASM code.
 */
export function nativeMsm(): NativeMsm | null {
  if (loaded !== undefined) return loaded
  loaded = null
  if (process.env.QULOUD_NATIVE_MSM !== '0' && existsSync(NATIVE_MSM_PATH)) {
    const mod = createRequire(import.meta.url)(NATIVE_MSM_PATH) as { msm: NativeMsm; usesAdx: boolean } & Partial<NativeGroth16>
    // A build older than quotient and finish (a stale checkout) counts as none: npm install rebuilds it.
    if (mod.quotient && mod.finish) {
      loaded = mod.msm
      groth16 = { quotient: mod.quotient, finish: mod.finish }
      adx = mod.usesAdx
    }
  }
  return loaded
}

/** The native quotient and proof assembly, or null exactly when nativeMsm() is. */
export function nativeGroth16(): NativeGroth16 | null {
  nativeMsm()
  return groth16
}

/** Whether the native module runs its x86-64 BMI2/ADX field arithmetic on this CPU. */
export function nativeMsmUsesAdx(): boolean {
  nativeMsm()
  return adx
}
