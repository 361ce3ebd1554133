import { curves, groth16 } from 'snarkjs'
import type { Groth16Proof, ProofVerifier } from '../../core/ports/prover.js'

/** Groth16 verification with snarkjs (~10–13 ms a proof here, whatever the batch size). */
export class SnarkjsVerifier implements ProofVerifier {
  // ffjavascript caches one curve (with its worker threads) in a global, but concurrent first
  // calls each build their own, and only the cached one is ever terminated: the others keep the
  // process alive. Building it once, before any verification, avoids that race.
  #curve: Promise<unknown> | null = null

  async verify(verificationKey: unknown, publicSignals: readonly string[], proof: Groth16Proof): Promise<boolean> {
    await (this.#curve ??= curves.getCurveFromName('bn128'))
    try {
      return await groth16.verify(verificationKey, [...publicSignals], proof)
    } catch {
      // snarkjs throws on points that are not on the curve and on malformed keys: not valid.
      return false
    }
  }
}

/** snarkjs keeps curve worker threads alive; end them so the process can exit on its own. */
export async function terminateSnarkjs(): Promise<void> {
  const curve = (globalThis as { curve_bn128?: { terminate(): Promise<void> } }).curve_bn128
  if (curve) await curve.terminate()
}
