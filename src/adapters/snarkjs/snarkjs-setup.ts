import { curves, powersOfTau, zKey } from 'snarkjs'
import { randomBytes } from 'node:crypto'
import { CIRCUIT_POWER, CIRCUIT_R1CS, readCheckedArtifact } from './circuit-artifacts.js'

export interface SetupProgress {
  step: number
  steps: number
  label: string
}

export interface OwnerSetup {
  /** Groth16 proving key (zkey), public: it lets anyone prove only what they know the secret for. */
  provingKey: Uint8Array
  /** Verification key JSON; storage nodes pin it at an owner's first store. */
  verificationKey: Record<string, unknown>
}

const STEPS = ['powers of tau: new accumulator', 'powers of tau: owner contribution', 'powers of tau: prepare phase 2', 'circuit keys: new zkey', 'circuit keys: owner contribution', 'verification key']

/**
 * The owner's own trusted setup: a fresh powers-of-tau ceremony of just the power the circuit
 * needs, with a contribution from 32 bytes of fresh OS randomness (the toxic waste lives only in
 * this process's memory and is gone when it ends), then the circuit-specific phase 2 with another
 * random contribution. Whoever knows a setup's toxic waste can forge proofs, so no setup made by
 * anyone else is trusted. Takes minutes; progress is reported per step.
 */
export async function runOwnerSetup(onProgress: (p: SetupProgress) => void = () => {}): Promise<OwnerSetup> {
  const ptau = await ownerPowersOfTau(onProgress)
  return circuitKeys(ptau, onProgress)
}

type Mem = { type: 'mem'; data?: Uint8Array }
const report = (onProgress: (p: SetupProgress) => void, step: number) => onProgress({ step: step + 1, steps: STEPS.length, label: STEPS[step] as string })

/** Phase 1: a fresh accumulator of CIRCUIT_POWER with the owner's contribution, prepared for phase 2. */
export async function ownerPowersOfTau(onProgress: (p: SetupProgress) => void = () => {}): Promise<Uint8Array> {
  const curve = await curves.getCurveFromName('bn128')
  try {
    report(onProgress, 0)
    const ptau0: Mem = { type: 'mem' }
    await powersOfTau.newAccumulator(curve, CIRCUIT_POWER, ptau0)
    report(onProgress, 1)
    const ptau1: Mem = { type: 'mem' }
    await powersOfTau.contribute(ptau0, ptau1, 'quloud owner', randomBytes(32).toString('hex'))
    report(onProgress, 2)
    const ptau2: Mem = { type: 'mem' }
    await powersOfTau.preparePhase2(ptau1, ptau2)
    return ptau2.data as Uint8Array
  } finally {
    await curve.terminate()
  }
}

/** Phase 2: the circuit's keys from a prepared accumulator, with the owner's contribution. */
export async function circuitKeys(preparedPtau: Uint8Array, onProgress: (p: SetupProgress) => void = () => {}): Promise<OwnerSetup> {
  const curve = await curves.getCurveFromName('bn128')
  try {
    report(onProgress, 3)
    const zkey0: Mem = { type: 'mem' }
    await zKey.newZKey({ type: 'mem', data: readCheckedArtifact(CIRCUIT_R1CS) }, { type: 'mem', data: preparedPtau }, zkey0)
    report(onProgress, 4)
    const zkey1: Mem = { type: 'mem' }
    await zKey.contribute(zkey0, zkey1, 'quloud owner', randomBytes(32).toString('hex'))
    report(onProgress, 5)
    const verificationKey = await zKey.exportVerificationKey(zkey1)
    return { provingKey: zkey1.data as Uint8Array, verificationKey }
  } finally {
    await curve.terminate()
  }
}
