/**
 * Worker thread body of SnarkjsProver, for hosts without the native module (or when asked for). The
 * witness calculator is built once from the circuit's wasm and the proving key is parsed once
 * (Groth16Prover), which halves the cost of fullProve in a loop.
 *   { op: 'init', wasm, zkey }          → { ready: true }
 *   { op: 'prove', rid, input }         → { rid, proof, publicSignals } | { rid, error, unsatisfied }
 */
import { parentPort } from 'node:worker_threads'
import { createRequire } from 'node:module'

const port = parentPort
if (!port) throw new Error('prover-worker must run in a worker thread')

// snarkjs pulls in web-worker 1.2, which assumes that any non-main thread loading it is one of its
// own workers and crashes on the missing workerData. This worker is a main thread as far as the
// curve's thread pool is concerned, so it is told so while the modules load.
const workerThreads = createRequire(import.meta.url)('node:worker_threads')
Object.defineProperty(workerThreads, 'isMainThread', { value: true, configurable: true })
// Before circom_runtime, which loads the curve code's generator (wasmcurves).
const { skipKnownPrimalityTests, buildCurve } = await import('./bn128-curve.js')
skipKnownPrimalityTests()
const { WitnessCalculatorBuilder } = await import('circom_runtime')
const { Groth16Prover } = await import('./groth16-prover.js')
const { nativeGroth16 } = await import('./native-msm.js')
// With the native module a proof needs no curve library at all (SnarkjsProver then proves on the
// calling thread and starts no worker, unless asked to); without it, ffjavascript's WASM curve
// does everything, its multi-exponentiations on a pool of threads of its own.
const curve = nativeGroth16() ? undefined : await buildCurve(false)
Object.defineProperty(workerThreads, 'isMainThread', { value: false, configurable: true })

let calculator: Awaited<ReturnType<typeof WitnessCalculatorBuilder>> | null = null
let wasm: Uint8Array | null = null
let prover: Awaited<ReturnType<typeof Groth16Prover.load>> | null = null

port.on('message', async (msg: any) => {
  if (msg.op === 'init') {
    wasm = msg.wasm
    calculator = await WitnessCalculatorBuilder(msg.wasm)
    try {
      prover = await Groth16Prover.load(msg.zkey, curve ? { curve } : {})
    } catch (err) {
      port.postMessage({ initError: err instanceof Error ? err.message : String(err) })
      return
    }
    port.postMessage({ ready: true })
    return
  }
  if (msg.op !== 'prove') return
  if (!calculator || !prover) {
    port.postMessage({ rid: msg.rid, error: 'prover not initialised' })
    return
  }
  let wtns: Uint8Array
  try {
    wtns = await calculator.calculateWTNSBin(msg.input, true)
  } catch (err) {
    // The circuit's constraints fail: the input is not a true statement (e.g. a wrong proofKey).
    // A failed assertion can leave the wasm instance in a bad state: build a fresh one.
    calculator = await WitnessCalculatorBuilder(wasm as Uint8Array)
    port.postMessage({ rid: msg.rid, error: err instanceof Error ? err.message.split('\n')[0] : String(err), unsatisfied: true })
    return
  }
  try {
    // One worker keeps both cores busy: the multi-exponentiations run on libuv's threads while
    // this thread computes the next proof's witness and FFTs; several proofs in flight interleave.
    const { proof, publicSignals } = await prover.prove(wtns)
    port.postMessage({ rid: msg.rid, proof, publicSignals })
  } catch (err) {
    port.postMessage({ rid: msg.rid, error: err instanceof Error ? err.message : String(err) })
  }
})
