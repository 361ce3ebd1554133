import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import { CIRCUIT_R1CS } from '../../src/adapters/snarkjs/circuit-artifacts.js'
import { circuitKeys, ownerPowersOfTau, type OwnerSetup } from '../../src/adapters/snarkjs/snarkjs-setup.js'

/**
 * Real per-owner setups for tests, made once per machine and circuit and shared by test processes
 * through a cache folder (a setup takes minutes). Owner "a" runs the whole ceremony; owner "b"
 * runs its own phase 2 on a's accumulator, which still gives it different keys (its own delta),
 * which is what "another owner's setup" tests need.
 */
const circuitSha = createHash('sha256').update(readFileSync(CIRCUIT_R1CS)).digest('hex').slice(0, 16)
const CACHE = join(tmpdir(), `quloud-zk-cache-${circuitSha}`)

async function cached<T>(name: string, make: () => Promise<T>, encode: (v: T) => Record<string, Uint8Array | string>, decode: (files: (f: string) => Buffer) => T, files: string[]): Promise<T> {
  const dir = join(CACHE, name)
  const lock = join(CACHE, `${name}.lock`)
  mkdirSync(CACHE, { recursive: true })
  const deadline = Date.now() + 20 * 60_000
  for (;;) {
    if (existsSync(join(dir, 'done'))) return decode((f) => readFileSync(join(dir, f)))
    try {
      mkdirSync(lock)
      break
    } catch {
      if (Date.now() > deadline) throw new Error(`waited too long for the ${name} setup`)
      await new Promise((r) => setTimeout(r, 1000))
    }
  }
  try {
    const value = await make()
    const tmp = `${dir}.tmp-${process.pid}`
    mkdirSync(tmp, { recursive: true })
    for (const [f, data] of Object.entries(encode(value))) writeFileSync(join(tmp, f), data)
    writeFileSync(join(tmp, 'done'), files.join('\n'))
    rmSync(dir, { recursive: true, force: true })
    renameSync(tmp, dir)
    return value
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
}

const asBytes = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength)

async function ptauA(): Promise<Uint8Array> {
  return cached('ptau-a', () => ownerPowersOfTau(), (p) => ({ 'ptau.bin': p }), (f) => asBytes(f('ptau.bin')), ['ptau.bin'])
}

export async function ownerSetup(owner: 'a' | 'b'): Promise<OwnerSetup> {
  return cached(
    `owner-${owner}`,
    async () => circuitKeys(await ptauA()),
    (s) => ({ 'zkey.bin': s.provingKey, 'vk.json': JSON.stringify(s.verificationKey) }),
    (f) => ({ provingKey: asBytes(f('zkey.bin')), verificationKey: JSON.parse(f('vk.json').toString('utf8')) }),
    ['zkey.bin', 'vk.json'],
  )
}
