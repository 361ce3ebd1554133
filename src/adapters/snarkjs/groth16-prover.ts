/**
 * Groth16 prover for snarkjs proving keys, built for throughput on the owner's node:
 *   - the proving key is parsed once (snarkjs parses it again for every proof);
 *   - with the native module (native/bn254), everything runs in C on threads of its own: the four
 *     multi-exponentiations over the witness start at once, the quotient's QAP evaluation and FFTs
 *     alongside them, then H's, then the proof's points (α, β, δ and the blinding added, affine);
 *     no curve library is loaded at all (ffjavascript's costs ~0.1 s and ~0.15 s of CPU to build);
 *   - without it, ffjavascript's WASM does the multi-exponentiations and the FFTs, and the QAP
 *     evaluation runs on BigInts (snarkjs makes two WASM calls per coefficient).
 * The proofs are ordinary snarkjs Groth16 proofs (same key, same verifier). Internals follow the
 * snarkjs prover: points are little-endian Montgomery (LEM), the QAP is evaluated on the coset of
 * the odd 2n-th roots of unity.
 */
import { randomBytes } from 'node:crypto'
import { buildBn128, utils, type Curve } from 'ffjavascript'
import { InvariantError } from '../../core/errors.js'
import { nativeGroth16, nativeMsm, type NativeGroth16 } from './native-msm.js'

const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n
const N8 = 32

const viewOf = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)

interface Sections {
  [id: number]: Uint8Array
}

function readBinFile(bytes: Uint8Array, magic: string): Sections {
  const view = viewOf(bytes)
  const found = String.fromCharCode(...bytes.subarray(0, 4))
  if (found !== magic) throw new InvariantError(`not a ${magic} file`)
  const count = view.getUint32(8, true)
  const sections: Sections = {}
  let at = 12
  for (let i = 0; i < count; i++) {
    const id = view.getUint32(at, true)
    const size = Number(view.getBigUint64(at + 4, true))
    at += 12
    if (at + size > bytes.byteLength) throw new InvariantError(`${magic} file is truncated`)
    sections[id] = bytes.subarray(at, at + size)
    at += size
  }
  return sections
}

const section = (s: Sections, id: number): Uint8Array => {
  const v = s[id]
  if (!v) throw new InvariantError(`proving key lacks section ${id}`)
  return v
}

function readLE(view: DataView, at: number): bigint {
  return view.getBigUint64(at, true) | (view.getBigUint64(at + 8, true) << 64n) | (view.getBigUint64(at + 16, true) << 128n) | (view.getBigUint64(at + 24, true) << 192n)
}

function writeLE(view: DataView, at: number, value: bigint): void {
  view.setBigUint64(at, BigInt.asUintN(64, value), true)
  view.setBigUint64(at + 8, BigInt.asUintN(64, value >> 64n), true)
  view.setBigUint64(at + 16, BigInt.asUintN(64, value >> 128n), true)
  view.setBigUint64(at + 24, value >> 192n, true)
}

function modInverse(a: bigint, m: bigint): bigint {
  let [t, nt, r, nr] = [0n, 1n, m, a % m]
  while (nr !== 0n) {
    const q = r / nr
    ;[t, nt] = [nt, t - q * nt]
    ;[r, nr] = [nr, r - q * nr]
  }
  return t < 0n ? t + m : t
}

// Montgomery factor of ffjavascript's Fr (R = 2^256): the QAP buffers hold x·2^256 mod r.
const MONT = (1n << 256n) % R
const MONT_INV = modInverse(MONT, R)
/** BN254's base field: the proof's coordinates, which the native code returns as x·2^256 mod q. */
const Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583n
const P_MONT_INV = modInverse((1n << 256n) % Q, Q)

/** One parsed proving key, ready to prove many times. */
export class Groth16Prover {
  readonly nVars: number
  readonly nPublic: number
  readonly domainSize: number
  /** ffjavascript's curve: only for the proofs made without the native module. */
  readonly #curve: Curve | null
  readonly #alpha1: Uint8Array
  readonly #beta1: Uint8Array
  readonly #beta2: Uint8Array
  readonly #delta1: Uint8Array
  readonly #delta2: Uint8Array
  readonly #a: Uint8Array
  readonly #b1: Uint8Array
  readonly #b2: Uint8Array
  readonly #c: Uint8Array
  readonly #h: Uint8Array
  /** The key's coefficient section as stored, for the native quotient (which reads it as it is). */
  readonly #coefSection: Uint8Array
  // QAP coefficients for the JS quotient: matrix (0 = A, 1 = B), constraint row, witness index, value (×2^256 removed).
  readonly #coefMatrix: Uint8Array
  readonly #coefRow: Uint32Array
  readonly #coefSignal: Uint32Array
  readonly #coefValue: bigint[]
  /** α1, β1, β2, δ1, δ2 as native finish() takes them after the sums (LE Montgomery, affine). */
  readonly #keyPoints: Uint8Array

  readonly #groth16: NativeGroth16 | null

  private constructor(curve: Curve | null, zkey: Uint8Array, native: boolean) {
    this.#curve = curve
    this.#groth16 = native ? nativeGroth16() : null
    if (!curve && !this.#groth16) throw new InvariantError('a prover without the native module needs a curve')
    const s = readBinFile(zkey, 'zkey')
    const header = viewOf(section(s, 1))
    if (header.getUint32(0, true) !== 1) throw new InvariantError('proving key is not a Groth16 key')
    const g = section(s, 2)
    const gv = viewOf(g)
    let at = 0
    const n8q = gv.getUint32(at, true)
    at += 4 + n8q
    const n8r = gv.getUint32(at, true)
    if (n8q !== 32 || n8r !== 32 || readLE(gv, at + 4) !== R) throw new InvariantError('proving key is not for BN254')
    at += 4 + n8r
    this.nVars = gv.getUint32(at, true)
    this.nPublic = gv.getUint32(at + 4, true)
    this.domainSize = gv.getUint32(at + 8, true)
    at += 12
    const take = (len: number) => g.slice(at, (at += len))
    this.#alpha1 = take(64)
    this.#beta1 = take(64)
    this.#beta2 = take(128)
    take(128) // gamma2: verification only
    this.#delta1 = take(64)
    this.#delta2 = take(128)
    this.#a = section(s, 5).slice()
    this.#b1 = section(s, 6).slice()
    this.#b2 = section(s, 7).slice()
    this.#c = section(s, 8).slice()
    this.#h = section(s, 9).slice()
    if (this.#a.byteLength !== this.nVars * 64 || this.#b2.byteLength !== this.nVars * 128 || this.#h.byteLength !== this.domainSize * 64) {
      throw new InvariantError('proving key sections do not match its header')
    }
    if ((this.domainSize & (this.domainSize - 1)) !== 0 || this.domainSize < 2) throw new InvariantError('proving key domain is not a power of two')
    this.#keyPoints = new Uint8Array(448)
    this.#keyPoints.set(this.#alpha1, 0)
    this.#keyPoints.set(this.#beta1, 64)
    this.#keyPoints.set(this.#beta2, 128)
    this.#keyPoints.set(this.#delta1, 256)
    this.#keyPoints.set(this.#delta2, 320)
    const coeffs = section(s, 4)
    const cv = viewOf(coeffs)
    const n = cv.getUint32(0, true)
    if (coeffs.byteLength !== 4 + n * (12 + N8)) throw new InvariantError('proving key coefficient section has the wrong size')
    // Each path keeps only the form of the coefficients it reads.
    const js = this.#groth16 === null
    this.#coefSection = js ? new Uint8Array(0) : coeffs.slice()
    this.#coefMatrix = new Uint8Array(js ? n : 0)
    this.#coefRow = new Uint32Array(js ? n : 0)
    this.#coefSignal = new Uint32Array(js ? n : 0)
    this.#coefValue = new Array<bigint>(js ? n : 0)
    for (let i = 0, o = 4; i < n; i++, o += 12 + N8) {
      const m = cv.getUint32(o, true)
      const row = cv.getUint32(o + 4, true)
      const signal = cv.getUint32(o + 8, true)
      if (m > 1 || row >= this.domainSize || signal >= this.nVars) throw new InvariantError('proving key has a bad coefficient')
      if (!js) continue
      this.#coefMatrix[i] = m
      this.#coefRow[i] = row
      this.#coefSignal[i] = signal
      // snarkjs stores v·2^512 and multiplies in Montgomery form; keep v·2^256 (Montgomery form of v).
      this.#coefValue[i] = (readLE(cv, o + 12) * MONT_INV) % R
    }
  }

  /**
   * Parses a proving key. With the native module (and native not false) no curve is needed or
   * built; otherwise the curve defaults to ffjavascript's shared bn128 instance, which
   * terminateSnarkjs() ends (a prover worker thread simply exits). native: false proves with
   * ffjavascript's WASM only (tests, and hosts without the native module).
   */
  static async load(zkey: Uint8Array, { curve, native = true }: { curve?: Curve; native?: boolean } = {}): Promise<Groth16Prover> {
    const needsCurve = !native || nativeGroth16() === null
    return new Groth16Prover(curve ?? (needsCurve ? await buildBn128() : null), zkey, native)
  }

  /** Whether proofs run wholly in C (no curve library). */
  get fullyNative(): boolean {
    return this.#groth16 !== null
  }

  /** Proves from a snarkjs witness file (wtns); returns snarkjs's proof and public signal JSON. */
  async prove(wtns: Uint8Array): Promise<{ proof: Record<string, unknown>; publicSignals: string[] }> {
    const ws = readBinFile(wtns, 'wtns')
    const wh = section(ws, 1)
    const whv = viewOf(wh)
    if (whv.getUint32(0, true) !== N8 || readLE(whv, 4) !== R || whv.getUint32(4 + N8, true) !== this.nVars) {
      throw new InvariantError('witness does not belong to this proving key')
    }
    const witness = section(ws, 2).slice()
    const witnessView = viewOf(witness)
    const publicSignals: string[] = []
    for (let i = 1; i <= this.nPublic; i++) publicSignals.push(readLE(witnessView, i * N8).toString())
    if (this.#groth16) {
      try {
        return { proof: await this.#proveNative(this.#groth16, witness), publicSignals }
      } finally {
        witness.fill(0) // it holds the proofKey; the native code wipes its own copies
      }
    }
    // Without the native module: ffjavascript's WASM, its multi-exponentiations on its threads.
    const curve = this.#curve as Curve
    const privateScalars = witness.subarray((this.nPublic + 1) * N8)
    const sums = Promise.all([curve.G1.multiExpAffine(this.#a, witness), curve.G1.multiExpAffine(this.#b1, witness), curve.G2.multiExpAffine(this.#b2, witness), curve.G1.multiExpAffine(this.#c, privateScalars)])
    const h = this.#quotient(witnessView).then((scalars) => curve.G1.multiExpAffine(this.#h, scalars))
    const [[piA0, piB10, piB20, piC0], piH] = await Promise.all([sums, h])

    const G1 = curve.G1
    const G2 = curve.G2
    const Fr = curve.Fr
    const r = randomScalar()
    const s = randomScalar()
    let piA = G1.add(G1.add(piA0, this.#alpha1), G1.timesFr(this.#delta1, Fr.e(r)))
    let piB = G2.add(G2.add(piB20, this.#beta2), G2.timesFr(this.#delta2, Fr.e(s)))
    const piB1 = G1.add(G1.add(piB10, this.#beta1), G1.timesFr(this.#delta1, Fr.e(s)))
    let piC = G1.add(piC0, piH)
    piC = G1.add(piC, G1.timesFr(piA, Fr.e(s)))
    piC = G1.add(piC, G1.timesFr(piB1, Fr.e(r)))
    piC = G1.add(piC, G1.timesFr(this.#delta1, Fr.e((R - ((r * s) % R)) % R)))
    piA = G1.toAffine(piA)
    piB = G2.toAffine(piB)
    piC = G1.toAffine(piC)
    const proof = utils.stringifyBigInts({ pi_a: G1.toObject(piA), pi_b: G2.toObject(piB), pi_c: G1.toObject(piC), protocol: 'groth16', curve: 'bn128' })
    return { proof: proof as Record<string, unknown>, publicSignals }
  }

  /**
   * The proof in C: the four sums over the witness and the quotient on threads at once, H's sum
   * once its scalars are there, then α, β, δ and the blinding r, s added (native finish()).
   */
  async #proveNative(native: NativeGroth16, witness: Uint8Array): Promise<Record<string, unknown>> {
    const msm = nativeMsm() as NonNullable<ReturnType<typeof nativeMsm>>
    const privateScalars = witness.subarray((this.nPublic + 1) * N8)
    const sums = Promise.all([msm(1, this.#a, witness), msm(1, this.#b1, witness), msm(2, this.#b2, witness), msm(1, this.#c, privateScalars)])
    const h = native.quotient(this.#coefSection, witness, this.nVars, Math.log2(this.domainSize)).then((scalars) => msm(1, this.#h, scalars))
    const [[a, b1, b2, c], hSum] = await Promise.all([sums, h])
    const all = new Uint8Array(1024)
    all.set(a, 0)
    all.set(b1, 96)
    all.set(b2, 192)
    all.set(c, 384)
    all.set(hSum, 480)
    all.set(this.#keyPoints, 576)
    const r = randomScalar()
    const s = randomScalar()
    const scalars = new Uint8Array(96)
    const sv = viewOf(scalars)
    writeLE(sv, 0, r)
    writeLE(sv, 32, s)
    writeLE(sv, 64, (R - ((r * s) % R)) % R)
    const out = native.finish(all, scalars)
    const v = viewOf(out)
    const fq = (at: number) => ((readLE(v, at) * P_MONT_INV) % Q).toString()
    return {
      pi_a: [fq(0), fq(32), '1'],
      pi_b: [[fq(64), fq(96)], [fq(128), fq(160)], ['1', '0']],
      pi_c: [fq(192), fq(224), '1'],
      protocol: 'groth16',
      curve: 'bn128',
    }
  }

  /** The scalars of H: (A·B − C) on the odd coset, as snarkjs computes them. */
  async #quotient(witness: DataView): Promise<Uint8Array> {
    const n = this.domainSize
    const w = new Array<bigint>(this.nVars)
    for (let i = 0; i < this.nVars; i++) w[i] = readLE(witness, i * N8)
    const acc = [new Array<bigint>(n).fill(0n), new Array<bigint>(n).fill(0n)] as const
    const count = this.#coefValue.length
    for (let i = 0; i < count; i++) {
      const m = acc[this.#coefMatrix[i] as 0 | 1]
      const row = this.#coefRow[i] as number
      m[row] = (m[row] as bigint) + (this.#coefValue[i] as bigint) * (w[this.#coefSignal[i] as number] as bigint)
    }
    const bufA = new Uint8Array(n * N8)
    const bufB = new Uint8Array(n * N8)
    const bufC = new Uint8Array(n * N8)
    const [va, vb, vc] = [bufA, bufB, bufC].map(viewOf) as [DataView, DataView, DataView]
    for (let i = 0; i < n; i++) {
      const a = (acc[0][i] as bigint) % R
      const b = (acc[1][i] as bigint) % R
      writeLE(va, i * N8, a)
      writeLE(vb, i * N8, b)
      writeLE(vc, i * N8, (a * b * MONT_INV) % R)
    }
    const curve = this.#curve as Curve
    const Fr = curve.Fr as unknown as FrFft
    const power = Math.log2(n)
    const inc = Fr.w[power + 1]
    const odd = async (buf: Uint8Array) => Fr.fft(await Fr.batchApplyKey(await Fr.ifft(buf), Fr.e(1), inc))
    const [a, b, c] = await Promise.all([odd(bufA), odd(bufB), odd(bufC)])
    const tm = (curve as unknown as { tm: ThreadManager }).tm
    const [out] = await tm.queueAction([
      { cmd: 'ALLOCSET', var: 0, buff: a },
      { cmd: 'ALLOCSET', var: 1, buff: b },
      { cmd: 'ALLOCSET', var: 2, buff: c },
      { cmd: 'ALLOC', var: 3, len: n * N8 },
      { cmd: 'CALL', fnName: 'qap_joinABC', params: [{ var: 0 }, { var: 1 }, { var: 2 }, { val: n }, { var: 3 }] },
      { cmd: 'CALL', fnName: 'frm_batchFromMontgomery', params: [{ var: 3 }, { val: n }, { var: 3 }] },
      { cmd: 'GET', out: 0, var: 3, len: n * N8 },
    ])
    return out as Uint8Array
  }
}

interface FrFft {
  w: unknown[]
  e(v: number | bigint): unknown
  fft(buf: Uint8Array): Promise<Uint8Array>
  ifft(buf: Uint8Array): Promise<Uint8Array>
  batchApplyKey(buf: Uint8Array, first: unknown, inc: unknown): Promise<Uint8Array>
}

interface ThreadManager {
  queueAction(task: unknown[]): Promise<Uint8Array[]>
}

/** A uniform scalar for the proof's blinding, from 64 bytes of OS randomness. */
function randomScalar(): bigint {
  const b = randomBytes(64)
  return BigInt(`0x${b.toString('hex')}`) % R
}
