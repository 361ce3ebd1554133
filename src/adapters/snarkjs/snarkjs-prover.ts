import { Worker } from 'node:worker_threads'
import type { Groth16Proof, OwnershipInput, Prover } from '../../core/ports/prover.js'
import { closed, inputInvalid, InvariantError, proofRejected } from '../../core/errors.js'
import { isCanonicalFieldElement } from '../../core/crypto/index.js'
import { OWNERSHIP_BATCH } from '../../core/proofs/index.js'
import { CIRCUIT_WASM, readCheckedArtifact } from './circuit-artifacts.js'

const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './prover-worker-boot.mjs' : './prover-worker.js', import.meta.url)

interface Slot {
  worker: Worker
  load: number
  ready: Promise<void>
}

/**
 * Prover daemon: a bounded pool of worker threads (one by default, whose multi-exponentiations
 * run in C on libuv's threads and so use every core), each holding the witness calculator and the owner's proving key, so proofs never run on
 * the event loop. Requests go to the least-loaded worker; idle workers do not keep the process
 * alive.
 */
export class SnarkjsProver implements Prover {
  readonly #slots: Slot[]
  readonly #pending = new Map<number, { resolve: (v: { proof: Groth16Proof; publicSignals: string[] }) => void; reject: (e: Error) => void; slot: Slot }>()
  #nextId = 1
  #closed = false

  constructor(provingKey: Uint8Array, { threads = 1 }: { threads?: number } = {}) {
    const wasm = readCheckedArtifact(CIRCUIT_WASM)
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

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#failAll(closed('prover'))
    await Promise.all(this.#slots.map((s) => s.worker.terminate()))
  }
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
