import { createRequire } from 'node:module'
import type { Curve } from 'ffjavascript'
import { BN254_SCALAR_MODULUS } from '../../core/crypto/index.js'

/** BN254's base field modulus: the field of the curve's coordinates. */
const BN254_BASE_MODULUS = 21888242871839275222246405745257275088696311157297823662689037894645226208583n
const KNOWN_PRIMES = new Set([BN254_BASE_MODULUS, BN254_SCALAR_MODULUS])

const require = createRequire(import.meta.url)

/**
 * wasmcurves, which ffjavascript uses to generate the curve's WASM code, tests each field's modulus
 * for primality twice while it does: 177 Miller-Rabin rounds on a 254-bit BigInt each time, about
 * 0.2 s of CPU in every process that builds the curve (the prover's worker, each storage node's
 * verifier) — half of buildBn128. Both BN254 moduli are well-known primes: this answers for those
 * two at once and leaves any other number to the real test.
 *
 * wasmcurves's field builder keeps its own reference to the test once it is loaded, so this works
 * only when it runs before anything loads wasmcurves (importing ffjavascript, snarkjs or
 * circom_runtime does): it returns whether the test of this process is (now) the shortened one.
 * Too late (or with a wasmcurves laid out otherwise), nothing changes but the time the curve takes
 * to build. package.json pins wasmcurves at exactly the version ffjavascript pins, so npm keeps one
 * copy, the one patched here; a second copy would only make the curve slower to build again.
 */
export function skipKnownPrimalityTests(): boolean {
  let bigint: { isPrime: (n: bigint) => boolean; knownPrimesSkipped?: boolean }
  try {
    bigint = require('wasmcurves/src/bigint.js')
    if (bigint.knownPrimesSkipped) return true
    if (require.cache[require.resolve('wasmcurves/src/build_f1m.js')]) return false
  } catch {
    return false // another wasmcurves layout: its own test runs
  }
  const isPrime = bigint.isPrime
  bigint.isPrime = (n: bigint) => KNOWN_PRIMES.has(BigInt(n)) || isPrime(n)
  bigint.knownPrimesSkipped = true
  return true
}

/** ffjavascript's BN254 curve (see buildBn128), built without the primality tests above. */
export async function buildCurve(singleThread: boolean): Promise<Curve> {
  skipKnownPrimalityTests()
  const { buildBn128 } = await import('ffjavascript')
  return buildBn128(singleThread)
}
