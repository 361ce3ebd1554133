import { Worker } from 'node:worker_threads'
import type { Groth16Proof, OwnershipInput, Prover } from '../../core/ports/prover.js'
import { closed, inputInvalid, InvariantError, proofRejected } from '../../core/errors.js'
import { isCanonicalFieldElement } from '../../core/crypto/index.js'
import { OWNERSHIP_BATCH } from '../../core/proofs/index.js'
import { CIRCUIT_WASM, readCheckedArtifact } from './circuit-artifacts.js'
import { nativeGroth16 } from './native-msm.js'
import { skipKnownPrimalityTests } from './bn128-curve.js'
import type { Groth16Prover } from './groth16-prover.js'

const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './prover-worker-boot.mjs' : './prover-worker.js', import.meta.url)

interface Slot {
  worker: Worker
  load: number
  ready: Promise<void>
}

interface Inline {
  calculator: WitnessCalculator
  prover: Groth16Prover
}

interface WitnessCalculator {
  calculateWTNSBin(input: unknown, sanityCheck: boolean): Promise<Uint8Array>
}

/**
 * The owner's prover. With the native module (native/bn254), a proof runs in C on threads of its
 * own (Groth16Prover) and only the witness (the circuit's WASM, ~4 ms) is computed on the calling
 * thread: loading takes ~60 ms (no worker to start, no curve library to build). Without it, a
 * bounded pool of worker threads (one by default) each holds the witness calculator and the
 * proving key and proves with snarkjs's WASM curve, so proofs never run on the event loop.
 * Requests go to the least-loaded worker; idle workers do not keep the process alive.
 */
export class SnarkjsProver implements Prover {
  readonly #slots: Slot[]
  readonly #inline: Promise<Inline> | null
  readonly #wasm: Uint8Array
  /** Witnesses are computed one at a time: the calculator's WASM instance holds one. */
  #witnessTurn: Promise<unknown> = Promise.resolve()
  /**
   * Native proofs run one at a time, each on all of its threads: of several asked together (a
   * restore asks each of its peers for a grant at once), the first is then done after one proof's
   * time instead of all of them after three, and that peer starts sending sooner.
   */
  #proofTurn: Promise<unknown> = Promise.resolve()
  readonly #pending = new Map<number, { resolve: (v: { proof: Groth16Proof; publicSignals: string[] }) => void; reject: (e: Error) => void; slot: Slot }>()
  #nextId = 1
  #closed = false

  constructor(provingKey: Uint8Array, { threads = 1, workers = false }: { threads?: number; workers?: boolean } = {}) {
    const wasm = readCheckedArtifact(CIRCUIT_WASM)
    this.#wasm = wasm
    this.#inline = null
    if (!workers && nativeGroth16() !== null) {
      this.#slots = []
      this.#inline = loadInline(wasm, provingKey)
      this.#inline.catch(() => {}) // surfaced by prove(); an unused prover must not crash the process
      return
    }
    this.#slots = Array.from({ length: Math.max(1, threads) }, () => {
      const worker = new Worker(WORKER_URL)
      const ready = new Promise<void>((resolve, reject) => {
        const onReady = (msg: any) => {
          if (msg?.ready || msg?.initError) worker.off('message', onReady)
          if (msg?.ready) resolve()
          if (msg?.initError) reject(new InvariantError(`prover failed to load the proving key: ${msg.initError}`))
        }
        worker.on('message', onReady)
        worker.once('error', reject)
      })
      ready.catch(() => {}) // surfaced by prove(); an unused pool must not crash the process
      const slot: Slot = { worker, load: 0, ready }
      worker.on('message', (msg: any) => this.#onMessage(msg))
      worker.on('error', (err) => this.#failAll(err))
      worker.postMessage({ op: 'init', wasm, zkey: provingKey })
      worker.unref()
      return slot
    })
  }

  #onMessage(msg: any): void {
    if (msg?.rid === undefined) return
    const p = this.#pending.get(msg.rid)
    if (!p) return
    this.#pending.delete(msg.rid)
    if (--p.slot.load === 0) p.slot.worker.unref()
    if (msg.unsatisfied) return p.reject(proofRejected('the statement is false: this key does not own these objects'))
    if (msg.error !== undefined) return p.reject(new InvariantError(`prover failed: ${msg.error}`))
    p.resolve({ proof: msg.proof, publicSignals: msg.publicSignals })
  }

  #failAll(err: Error): void {
    for (const [rid, p] of this.#pending) {
      this.#pending.delete(rid)
      p.reject(err)
    }
  }

  async prove(input: OwnershipInput): Promise<{ proof: Groth16Proof; publicSignals: string[] }> {
    if (this.#closed) throw closed('prover')
    checkInput(input)
    if (this.#inline) return this.#proveInline(this.#inline, input)
    let slot = this.#slots[0] as Slot
    for (const s of this.#slots) if (s.load < slot.load) slot = s
    if (slot.load++ === 0) slot.worker.ref()
    await slot.ready
    const rid = this.#nextId++
    return new Promise((resolve, reject) => {
      this.#pending.set(rid, { resolve, reject, slot })
      slot.worker.postMessage({ op: 'prove', rid, input })
    })
  }

  async #proveInline(loading: Promise<Inline>, input: OwnershipInput): Promise<{ proof: Groth16Proof; publicSignals: string[] }> {
    let inline: Inline
    try {
      inline = await loading
    } catch (err) {
      throw new InvariantError(`prover failed to load the proving key: ${err instanceof Error ? err.message : String(err)}`)
    }
    const turn = this.#witnessTurn.then(() => inline.calculator.calculateWTNSBin(input, true))
    this.#witnessTurn = turn.then(
      () => undefined, // the next witness waits for this one, without holding on to it
      async () => {
        // A failed assertion can leave the WASM instance in a bad state: the next witness gets a fresh one.
        inline.calculator = await witnessCalculator(this.#wasm).catch(() => inline.calculator)
      },
    )
    let wtns: Uint8Array
    try {
      wtns = await turn
    } catch {
      // The circuit's constraints fail: the input is not a true statement (e.g. a wrong proofKey).
      throw proofRejected('the statement is false: this key does not own these objects')
    }
    const proving = this.#proofTurn.then(() => {
      if (this.#closed) throw closed('prover')
      return inline.prover.prove(wtns).catch((err: unknown) => {
        throw new InvariantError(`prover failed: ${err instanceof Error ? err.message : String(err)}`)
      })
    })
    this.#proofTurn = proving.then(
      () => undefined,
      () => undefined,
    )
    try {
      const { proof, publicSignals } = await proving
      return { proof: proof as unknown as Groth16Proof, publicSignals }
    } finally {
      wtns.fill(0) // the witness holds the proofKey
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#failAll(closed('prover'))
    await Promise.all(this.#slots.map((s) => s.worker.terminate()))
  }
}

async function witnessCalculator(wasm: Uint8Array): Promise<WitnessCalculator> {
  skipKnownPrimalityTests() // before circom_runtime loads ffjavascript's curve code
  const { WitnessCalculatorBuilder } = await import('circom_runtime')
  return (await WitnessCalculatorBuilder(wasm)) as unknown as WitnessCalculator
}

async function loadInline(wasm: Uint8Array, provingKey: Uint8Array): Promise<Inline> {
  const { Groth16Prover } = await import('./groth16-prover.js')
  const [calculator, prover] = await Promise.all([witnessCalculator(wasm), Groth16Prover.load(provingKey)])
  return { calculator, prover }
}

const DECIMAL = /^(0|[1-9][0-9]{0,76})$/

/**
 * The witness calculator silently reduces values modulo r, so a non-canonical input would yield
 * a proof of a different statement: every value must be a canonical decimal field element, and
 * the arrays exactly one batch long.
 */
function checkInput(input: OwnershipInput): void {
  const scalar = (v: unknown, what: string) => {
    if (typeof v !== 'string' || !DECIMAL.test(v) || !isCanonicalFieldElement(BigInt(v))) throw inputInvalid(`${what} must be a canonical field element`)
  }
  for (const k of ['proofKey', 'nonce', 'nodeId', 'action'] as const) scalar(input[k], k)
  for (const k of ['objectIds', 'commitments'] as const) {
    const list = input[k]
    if (!Array.isArray(list) || list.length !== OWNERSHIP_BATCH) throw inputInvalid(`${k} must hold exactly ${OWNERSHIP_BATCH} values`)
    list.forEach((v, i) => scalar(v, `${k}[${i}]`))
  }
}
