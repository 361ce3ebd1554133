import { readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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
  const out = new Uint8Array(Math.ceil(n / 32) * 32)
  const head = new Uint8Array(8)
  const view = new DataView(head.buffer)
  view.setUint32(0, seed >>> 0, true)
  for (let k = 0; k * 32 < n; k++) {
    view.setUint32(4, k, true)
    out.set(sha256(head), k * 32)
  }
  return out.subarray(0, n)
}

const sha256 = (data: Uint8Array) => sodium.sha256(data)

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}

export function unhex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'hex'))
}

/** Cheap Argon2id parameters for tests that are not about Argon2's cost. */
export const FAST_ARGON2 = { memoryKiB: 64, iterations: 1, parallelism: 1 }

/** Every regular file under dir, recursively (for scans of what a node wrote). */
export function* walkFiles(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) yield* walkFiles(p)
    else if (e.isFile()) yield p
  }
}

/**
 * The real object with some of its methods replaced (a test watching calls, or changing one
 * answer); every other property is the object's own, its methods bound to it.
 */
export function intercept<T extends object>(target: T, replace: (name: string | symbol, target: T) => ((...args: any[]) => unknown) | undefined): T {
  return new Proxy(target, {
    get: (obj, prop) => {
      const replaced = replace(prop, obj)
      if (replaced) return replaced
      const value: unknown = Reflect.get(obj, prop)
      return typeof value === 'function' ? value.bind(obj) : value
    },
  })
}

/** The open flags of a descriptor of this process, as the kernel reports them (0 when unknown). */
export function descriptorFlags(fd: number): number {
  const m = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))
  return m ? parseInt(m[1] as string, 8) : 0
}
