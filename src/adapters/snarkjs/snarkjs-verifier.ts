import type { Curve } from 'ffjavascript'
import type { Groth16Proof, ProofVerifier } from '../../core/ports/prover.js'
import { buildCurve, skipKnownPrimalityTests } from './bn128-curve.js'

/** A verification key decoded to curve points once, then reused for every proof of that owner. */
interface PreparedKey {
  ic0: Uint8Array
  /** IC[1..n] as affine points, laid out for multiExpAffine. */
  ic: Uint8Array
  nPublic: number
  /** e(−α, β) = e(α, β)⁻¹: constant per key, so one Miller loop fewer per proof. */
  alphaBetaInverse: Uint8Array
  gamma2: Uint8Array
  delta2: Uint8Array
}

const MAX_PREPARED_KEYS = 256 // one per owner whose objects this node stores; bounded all the same

/**
 * ffjavascript is loaded by warm(): the storage node calls it as it starts, and again (a no-op
 * by then) on every nonce request. Loading it and building the curve take ~0.25-0.35 s of CPU and
 * ~13 MB of memory (2 MB of live heap). Loading it at the first nonce instead saved that memory on
 * nodes that never verify, but made a restore's first grants wait for it: measured with an owner
 * and three storage nodes on one 2-core machine, the three nodes loading it while the owner proved
 * took 0.6-0.7 s of CPU from the restore and delayed its first grant from ~0.2 s to ~0.4 s. The
 * loader keeps the module once loaded; a failure to load it is a broken installation and is
 * thrown, not a false proof.
 */
const ffjavascript = () => {
  skipKnownPrimalityTests()
  return import('ffjavascript')
}

const toBig = (x: unknown): any => (Array.isArray(x) ? x.map(toBig) : BigInt(x as string))

/**
 * Groth16 verification on BN254 with ffjavascript (snarkjs's own curve library), computed as
 * snarkjs's groth16.verify does — e(−A, B) · e(vk_x, γ) · e(C, δ) · e(α, β) = 1 with
 * vk_x = IC0 + Σ signal_i · IC_i — but on a single-threaded curve of its own, with each owner's
 * key decoded once and e(α, β) computed once per key. groth16.verify's threaded curve spends more
 * on messages to its threads than on 35 points. Never throws for a bad proof or key: those are
 * simply not valid.
 */
export class SnarkjsVerifier implements ProofVerifier {
  #curve: Promise<Curve> | null = null
  #closed = false
  readonly #prepared = new Map<string, PreparedKey>()
  readonly #byObject = new WeakMap<object, PreparedKey>()

  #getCurve(): Promise<Curve> {
    return (this.#curve ??= buildCurve(true))
  }

  warm(): void {
    // verify() reports a failure to load; here it is only kept from being unhandled.
    if (!this.#closed) this.#getCurve().catch(() => {})
  }

  #prepare(curve: Curve, verificationKey: unknown): PreparedKey {
    // The same key object comes back for every proof of an owner: look it up by identity first,
    // by content only when it is a new object.
    const byIdentity = typeof verificationKey === 'object' && verificationKey !== null ? this.#byObject.get(verificationKey) : undefined
    if (byIdentity) return byIdentity
    const cacheKey = JSON.stringify(verificationKey)
    const hit = this.#prepared.get(cacheKey)
    if (hit) {
      if (typeof verificationKey === 'object' && verificationKey !== null) this.#byObject.set(verificationKey, hit)
      return hit
    }
    const vk = verificationKey as Record<string, any>
    if (vk.protocol !== 'groth16' || vk.curve !== 'bn128' || !Array.isArray(vk.IC) || vk.IC.length !== vk.nPublic + 1) throw new Error('not a groth16 bn128 key')
    const points: Uint8Array[] = vk.IC.map((p: unknown) => curve.G1.fromObject(toBig(p)))
    const stride = curve.G1.F.n8 * 2
    const ic = new Uint8Array(stride * vk.nPublic)
    for (let i = 0; i < vk.nPublic; i++) ic.set(curve.G1.toAffine(points[i + 1] as Uint8Array), i * stride)
    const prepared: PreparedKey = {
      ic0: points[0] as Uint8Array,
      ic,
      nPublic: vk.nPublic,
      alphaBetaInverse: curve.pairing(curve.G1.neg(curve.G1.fromObject(toBig(vk.vk_alpha_1))), curve.G2.fromObject(toBig(vk.vk_beta_2))),
      gamma2: curve.G2.fromObject(toBig(vk.vk_gamma_2)),
      delta2: curve.G2.fromObject(toBig(vk.vk_delta_2)),
    }
    if (this.#prepared.size >= MAX_PREPARED_KEYS) this.#prepared.delete(this.#prepared.keys().next().value as string)
    this.#prepared.set(cacheKey, prepared)
    if (typeof verificationKey === 'object' && verificationKey !== null) this.#byObject.set(verificationKey, prepared)
    return prepared
  }

  async verify(verificationKey: unknown, publicSignals: readonly string[], proof: Groth16Proof): Promise<boolean> {
    const { Scalar } = await ffjavascript()
    try {
      const curve = await this.#getCurve()
      const key = this.#prepare(curve, verificationKey)
      if (publicSignals.length !== key.nPublic) return false
      const scalars = new Uint8Array(curve.Fr.n8 * key.nPublic)
      publicSignals.forEach((s, i) => Scalar.toRprLE(scalars, curve.Fr.n8 * i, BigInt(s), curve.Fr.n8))
      const vkX = curve.G1.add(await curve.G1.multiExpAffine(key.ic, scalars), key.ic0)
      const a = curve.G1.fromObject(toBig(proof.pi_a))
      const b = curve.G2.fromObject(toBig(proof.pi_b))
      const c = curve.G1.fromObject(toBig(proof.pi_c))
      // Points off the curve (or outside the subgroup) are rejected before any pairing.
      if (!curve.G1.isValid(a) || !curve.G2.isValid(b) || !curve.G1.isValid(c)) return false
      // e(−A, B) · e(vk_x, γ) · e(C, δ) == e(α, β)⁻¹, i.e. the Groth16 equation with e(α, β) moved across.
      return await curve.pairingEq(curve.G1.neg(a), b, vkX, key.gamma2, c, key.delta2, key.alphaBetaInverse)
    } catch {
      return false
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    const curve = this.#curve
    this.#curve = null
    if (curve) await (await curve.catch(() => null))?.terminate()
  }
}

/** snarkjs keeps curve worker threads alive (setup, its own verify); end them so the process can exit. */
export async function terminateSnarkjs(): Promise<void> {
  const curve = (globalThis as { curve_bn128?: { terminate(): Promise<void> } }).curve_bn128
  if (curve) await curve.terminate()
}
