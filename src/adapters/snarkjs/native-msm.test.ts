import test from 'ava'
import { readFileSync } from 'node:fs'
import { stat } from 'node:fs/promises'
import { buildBn128, type Curve } from 'ffjavascript'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { NATIVE_MSM_PATH, nativeMsm, nativeMsmUsesAdx, type NativeMsm } from './native-msm.js'

// The native module is built by `npm install` (scripts/build-native.mjs); CI requires it.
const msm = nativeMsm() as NativeMsm

let curve: Curve
test.before(async () => {
  curve = await buildBn128(true)
})
test.after.always(async () => {
  await curve.terminate()
})

type G = 'G1' | 'G2'

/** n points and scalars with the awkward cases in front: infinity, a zero scalar, a repeated
 * point (its buckets must double), a point next to its negation (its buckets must empty). */
function inputs(group: G, n: number) {
  const g = (curve as unknown as Record<G, any>)[group]
  const Fr = curve.Fr as any
  const size = group === 'G1' ? 64 : 128
  const bases = new Uint8Array(n * size)
  const scalars = new Uint8Array(n * 32)
  for (let i = 0; i < n; i++) {
    bases.set(g.toAffine(g.timesFr(g.g, Fr.random())).subarray(0, size), i * size)
    scalars.set(Fr.fromMontgomery(Fr.random()), i * 32)
  }
  if (n >= 6) {
    bases.fill(0, 0, size) // infinity
    scalars.fill(0, 32, 64) // zero scalar
    bases.copyWithin(3 * size, 2 * size, 3 * size) // the same point twice, same scalar
    scalars.copyWithin(3 * 32, 2 * 32, 3 * 32)
    bases.set(g.toAffine(g.neg(bases.slice(4 * size, 5 * size))).subarray(0, size), 5 * size) // P and -P
    scalars.copyWithin(5 * 32, 4 * 32, 5 * 32)
  }
  return { g, bases, scalars }
}

const sum = (group: G, bases: Uint8Array, scalars: Uint8Array) => {
  const g = (curve as unknown as Record<G, any>)[group]
  const size = group === 'G1' ? 64 : 128
  let acc = g.zero
  for (let i = 0; i < scalars.length / 32; i++) {
    const p = bases.subarray(i * size, (i + 1) * size)
    if (!p.every((b) => b === 0)) acc = g.add(acc, g.timesScalar(p, scalars.subarray(i * 32, (i + 1) * 32)))
  }
  return acc
}

for (const group of ['G1', 'G2'] as const) {
  for (const portable of [false, true]) {
    test(`native ${group} multi-exponentiation (${portable ? 'portable' : 'the CPU\'s'} arithmetic) equals ffjavascript's, small and batched paths`, async (t) => {
      t.truthy(msm, 'the native module is built by npm install')
      for (const n of [1, 2, 7, 40, 700]) {
        const { g, bases, scalars } = inputs(group, n)
        const ours = await msm(group === 'G1' ? 1 : 2, bases, scalars, portable)
        const theirs = await g.multiExpAffine(bases, scalars)
        // ffjavascript reads a lone all-zero base as the point (0, 0); with n >= 6 it is infinity.
        if (n >= 6) t.true(g.eq(ours, theirs), `${group}, ${n} points`)
        t.true(g.eq(ours, sum(group, bases, scalars)), `${group}, ${n} points, against point-by-point sums`)
      }
    })
  }

  test(`native ${group}: equal scalars (every addition into the same buckets) and the largest scalar`, async (t) => {
    const n = 600
    const { g, bases, scalars } = inputs(group, n)
    const same = scalars.slice()
    for (let i = 1; i < n; i++) same.copyWithin(i * 32, 0, 32)
    // r - 1, the largest canonical scalar, for every point
    const top = new Uint8Array(n * 32)
    const rMinus1 = (curve.Fr as any).toObject((curve.Fr as any).negone) as bigint
    for (let i = 0; i < n; i++) for (let k = 0; k < 32; k++) top[i * 32 + k] = Number((rMinus1 >> BigInt(8 * k)) & 0xffn)
    for (const s of [same, top]) {
      const expected = await g.multiExpAffine(bases, s)
      t.true(g.eq(await msm(group === 'G1' ? 1 : 2, bases, s), expected))
      t.true(g.eq(await msm(group === 'G1' ? 1 : 2, bases, s, true), expected))
    }
  })
}

test('multi-exponentiations never hold up libuv\'s thread pool: a file system call made behind eight of them is answered first', async (t) => {
  const { bases, scalars } = inputs('G2', 2000)
  const order: string[] = []
  const sums = Array.from({ length: 8 }, () => msm(2, bases, scalars).then(() => order.push('msm')))
  const statted = stat(import.meta.dirname ?? '.').then(() => order.push('stat'))
  await Promise.all([...sums, statted])
  t.is(order[0], 'stat', order.join(' '))
})

test('the CPU\'s arithmetic is the BMI2/ADX one exactly when this x86-64 CPU has both', (t) => {
  const flags = process.arch === 'x64' ? (/^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '').split(/\s+/) : []
  t.is(nativeMsmUsesAdx(), flags.includes('bmi2') && flags.includes('adx'))
})

test('the native module refuses bad arguments with a TypeError and no crash', (t) => {
  const call = msm as unknown as (...a: unknown[]) => unknown
  t.throws(() => call(3, new Uint8Array(64), new Uint8Array(32)), { instanceOf: TypeError, message: /group/ })
  t.throws(() => call(1, new Uint8Array(64), new Uint8Array(31)), { instanceOf: TypeError, message: /matching lengths/ })
  t.throws(() => call(2, new Uint8Array(64), new Uint8Array(32)), { instanceOf: TypeError, message: /matching lengths/ })
  t.throws(() => call(1, 'x', new Uint8Array(32)), { instanceOf: TypeError, message: /Uint8Arrays/ })
  t.throws(() => call(1, new Uint8Array(64)), { instanceOf: TypeError })
  t.throws(() => call(1, new Uint8Array(64), new Uint8Array(32), 'yes'), { instanceOf: TypeError, message: /portable/ })
})

test('a worker thread ended while its multi-exponentiations run does not take the process down', async (t) => {
  // In a child process: a crash there (the module's threads outliving their environment) is an
  // exit by signal, not a crash of the test runner.
  const script = `
    const { Worker } = require('node:worker_threads')
    const body = \`
      const { parentPort } = require('node:worker_threads')
      const { msm } = require(process.env.QULOUD_TEST_MSM_PATH)
      const n = 6000
      const bases = new Uint8Array(n * 128).map((_, i) => (i * 7919) & 255)
      const scalars = new Uint8Array(n * 32).map((_, i) => (i * 31) & 255)
      for (let k = 0; k < 3; k++) msm(2, bases, scalars).catch(() => {})
      parentPort.postMessage('started')
    \`
    ;(async () => {
      for (let round = 0; round < 4; round++) {
        const w = new Worker(body, { eval: true })
        await new Promise((r) => w.once('message', r))
        await w.terminate()
      }
      await new Promise((r) => setTimeout(r, 1000))
      console.log('alive')
    })()
  `
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, QULOUD_TEST_MSM_PATH: NATIVE_MSM_PATH } })
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  const [code, signal] = (await once(child, 'close')) as [number | null, string | null]
  t.is(signal, null)
  t.is(code, 0)
  t.is(out.trim(), 'alive')
})
