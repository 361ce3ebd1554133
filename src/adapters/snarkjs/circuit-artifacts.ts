import { readFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { invariant } from '../../core/errors.js'

/** The committed, compiled ownership circuit (npm run circuits:build) and its checksums. */
export const CIRCUIT_DIR = fileURLToPath(new URL('../../../circuits/', import.meta.url))
export const CIRCUIT_R1CS = `${CIRCUIT_DIR}build/ownership.r1cs`
export const CIRCUIT_WASM = `${CIRCUIT_DIR}build/ownership.wasm`
export const CIRCUIT_CHECKSUMS = `${CIRCUIT_DIR}build/SHA256SUMS`
/**
 * 2^12 holds the B = 16 statement (3 843 constraints + 35 public inputs). Measured here: the whole
 * per-owner setup at 2^13 (B = 32) took about 270 s, most of it in preparePhase2, which grows
 * ~2.2x per power; 2^12 keeps `quloud init` near two minutes, and slower NAS CPUs within reach.
 */
export const CIRCUIT_POWER = 12

/** Reads an artifact and checks it against SHA256SUMS, so a damaged checkout fails loudly. */
export function readCheckedArtifact(path: string): Uint8Array {
  const bytes = readFileSync(path)
  const name = path.split('/').pop() as string
  const sums = readFileSync(CIRCUIT_CHECKSUMS, 'utf8')
  const expected = sums.split('\n').map((l) => l.trim().split(/\s+/)).find((p) => p[1] === name)?.[0]
  invariant(expected === createHash('sha256').update(bytes).digest('hex'), `circuit artifact ${name} does not match its checksum`)
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
