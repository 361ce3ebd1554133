import test from 'ava'
import { readFileSync } from 'node:fs'
import { stat } from 'node:fs/promises'
import { buildBn128, type Curve } from 'ffjavascript'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { NATIVE_MSM_PATH, nativeGroth16, nativeMsm, nativeMsmUsesAdx, type NativeGroth16, type NativeMsm } from './native-msm.js'

// The native module is built by `npm install` (scripts/build-native.mjs); CI requires it.
const msm = nativeMsm() as NativeMsm
const groth16 = nativeGroth16() as NativeGroth16

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

const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n
const le32 = (x: bigint) => Uint8Array.from({ length: 32 }, (_, k) => Number((x >> BigInt(8 * k)) & 0xffn))
const fromLe = (b: Uint8Array) => b.reduceRight((acc, byte) => (acc << 8n) | BigInt(byte), 0n)
const randomFr = () => (curve.Fr as any).toObject((curve.Fr as any).random()) as bigint

test('native quotient() equals the QAP quotient computed with ffjavascript\'s FFTs (snarkjs\'s way), on domains of several sizes', async (t) => {
  const Fr = curve.Fr as any
  for (const bits of [1, 3, 6, 10]) {
    const n = 1 << bits
    const nVars = 3 * n + 1
    const coefs = Array.from({ length: 5 * n }, (_, i) => ({ m: i % 2, row: (i * 7) % n, signal: (i * 13) % nVars, v: randomFr() }))
    const w = Array.from({ length: nVars }, (_, i) => (i === 0 ? 1n : randomFr()))
    // The key's section: a count, then matrix, row, signal (u32) and v·2^512 mod r (LE) for each.
    const section = new Uint8Array(4 + coefs.length * 44)
    const view = new DataView(section.buffer)
    view.setUint32(0, coefs.length, true)
    coefs.forEach((c, i) => {
      view.setUint32(4 + i * 44, c.m, true)
      view.setUint32(8 + i * 44, c.row, true)
      view.setUint32(12 + i * 44, c.signal, true)
      section.set(le32((c.v << 512n) % R), 16 + i * 44)
    })
    const witness = new Uint8Array(nVars * 32)
    w.forEach((x, i) => witness.set(le32(x), i * 32))
    const ours = await groth16.quotient(section, witness, nVars, bits)
    // Reference: A·w, B·w on the domain, to the odd coset with ffjavascript (ifft, ×g^i, fft), A∘B − C.
    const rows = [0, 1].map((m) => {
      const acc = new Array<bigint>(n).fill(0n)
      for (const c of coefs) if (c.m === m) acc[c.row] = ((acc[c.row] as bigint) + c.v * (w[c.signal] as bigint)) % R
      return acc
    })
    const columns = [rows[0]!, rows[1]!, rows[0]!.map((a, i) => (a * rows[1]![i]!) % R)]
    const coset = await Promise.all(columns.map(async (xs) => {
      const buf = new Uint8Array(n * 32)
      xs.forEach((x, i) => buf.set(Fr.e(x), i * 32))
      const moved: Uint8Array = await Fr.fft(await Fr.batchApplyKey(await Fr.ifft(buf), Fr.e(1), Fr.w[bits + 1]))
      return Array.from({ length: n }, (_, i) => Fr.toObject(moved.subarray(i * 32, i * 32 + 32)) as bigint)
    }))
    for (let i = 0; i < n; i++) {
      const expected = (((coset[0]![i]! * coset[1]![i]!) % R) - coset[2]![i]! + R) % R
      t.is(fromLe(ours.subarray(i * 32, i * 32 + 32)), expected, `2^${bits}, value ${i}`)
    }
  }
})

test('native finish() adds α, β, δ and the blinding as snarkjs does, in either arithmetic', async (t) => {
  const { G1, G2, Fr } = curve as any
  const g1 = () => G1.timesFr(G1.g, Fr.random())
  const g2 = () => G2.timesFr(G2.g, Fr.random())
  const [a, b1, c, h, alpha1, beta1, delta1] = [g1(), g1(), g1(), g1(), g1(), g1(), g1()]
  const [b2, beta2, delta2] = [g2(), g2(), g2()]
  const sums = new Uint8Array(1024)
  let at = 0
  for (const p of [a, b1, b2, c, h]) sums.set(p, (at += p.length) - p.length)
  for (const [g, p] of [[G1, alpha1], [G1, beta1], [G2, beta2], [G1, delta1], [G2, delta2]] as const) {
    const affine = g.toAffine(p).subarray(0, g === G1 ? 64 : 128)
    sums.set(affine, (at += affine.length) - affine.length)
  }
  t.is(at, 1024)
  const r = randomFr()
  const s = randomFr()
  const scalars = new Uint8Array(96)
  scalars.set(le32(r), 0)
  scalars.set(le32(s), 32)
  scalars.set(le32((R - ((r * s) % R)) % R), 64)
  const piA = G1.add(G1.add(a, alpha1), G1.timesFr(delta1, Fr.e(r)))
  const piB = G2.add(G2.add(b2, beta2), G2.timesFr(delta2, Fr.e(s)))
  const piB1 = G1.add(G1.add(b1, beta1), G1.timesFr(delta1, Fr.e(s)))
  const piC = [G1.add(c, h), G1.timesFr(piA, Fr.e(s)), G1.timesFr(piB1, Fr.e(r)), G1.timesFr(delta1, Fr.e((R - ((r * s) % R)) % R))].reduce((x, y) => G1.add(x, y))
  const expected = new Uint8Array(256)
  expected.set(G1.toAffine(piA).subarray(0, 64), 0)
  expected.set(G2.toAffine(piB).subarray(0, 128), 64)
  expected.set(G1.toAffine(piC).subarray(0, 64), 192)
  for (const portable of [false, true]) t.deepEqual(groth16.finish(sums, scalars, portable), expected, portable ? 'portable' : 'the CPU\'s')
})

test('native quotient() and finish() refuse bad arguments and malformed keys with clear errors, no crash', async (t) => {
  const call = (f: unknown) => f as (...a: unknown[]) => unknown
  const witness = new Uint8Array(4 * 32)
  const section = (row: number, signal: number) => {
    const b = new Uint8Array(4 + 44)
    const v = new DataView(b.buffer)
    v.setUint32(0, 1, true)
    v.setUint32(8, row, true)
    v.setUint32(12, signal, true)
    return b
  }
  t.is((await groth16.quotient(section(1, 3), witness, 4, 2)).length, 4 * 32)
  await t.throwsAsync(groth16.quotient(section(4, 0), witness, 4, 2), { message: /malformed/ }, 'a row outside the domain')
  await t.throwsAsync(groth16.quotient(section(0, 4), witness, 4, 2), { message: /malformed/ }, 'a signal outside the witness')
  await t.throwsAsync(groth16.quotient(section(0, 0).subarray(0, 40), witness, 4, 2), { message: /malformed/ }, 'a truncated section')
  t.throws(() => call(groth16.quotient)(section(0, 0), witness, 5, 2), { instanceOf: TypeError, message: /nVars/ })
  t.throws(() => call(groth16.quotient)(section(0, 0), witness, 4, 0), { instanceOf: TypeError, message: /bits/ })
  t.throws(() => call(groth16.quotient)('x', witness, 4, 2), { instanceOf: TypeError })
  t.throws(() => call(groth16.finish)(new Uint8Array(1023), new Uint8Array(96)), { instanceOf: TypeError, message: /1024/ })
  t.throws(() => call(groth16.finish)(new Uint8Array(1024), new Uint8Array(95)), { instanceOf: TypeError })
  t.throws(() => call(groth16.finish)(new Uint8Array(1024), new Uint8Array(96), 'yes'), { instanceOf: TypeError, message: /portable/ })
})

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
