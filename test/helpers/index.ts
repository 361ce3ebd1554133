import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import type { ExecutionContext } from 'ava'
import { SodiumNativeCrypto } from '../../src/adapters/sodium/sodium-native-crypto.js'

export const sodium = new SodiumNativeCrypto()

/** A fresh folder removed when the test ends. */
export async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'quloud-test-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/**
 * Deterministic pseudo-random bytes: block k is SHA-256(u32le(seed) || u32le(k)), concatenated and
 * cut to n bytes. docs/FORMAT.md names it because known-answer vectors are built from it.
 */
export function sampleBytes(seed: number, n: number): Uint8Array {
  const out = new Uint8Array(n)
  const head = Buffer.alloc(8)
  head.writeUInt32LE(seed >>> 0, 0)
  for (let k = 0, at = 0; at < n; k++, at += 32) {
    head.writeUInt32LE(k, 4)
    const block = createHash('sha256').update(head).digest()
    out.set(block.subarray(0, Math.min(32, n - at)), at)
  }
  return out
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}

export function unhex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'hex'))
}

/** Cheap Argon2id parameters for tests that are not about Argon2's cost. */
export const FAST_ARGON2 = { memoryKiB: 64, iterations: 1, parallelism: 1 }
