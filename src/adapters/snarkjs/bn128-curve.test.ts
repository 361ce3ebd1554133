import test from 'ava'
import { spawn } from 'node:child_process'
import { once } from 'node:events'

const CURVE_MODULE = new URL('./bn128-curve.ts', import.meta.url).href

/**
 * Runs `body` in a fresh Node process (which modules are loaded, and in what order, is what is
 * tested) after `prelude`; returns what the body printed as JSON.
 */
async function inFreshProcess(prelude: string, body: string): Promise<any> {
  const script = `
    import { createRequire } from 'node:module'
    const require = createRequire(${JSON.stringify(CURVE_MODULE)})
    // Counts the real primality test's calls on BN254's two moduli, from before anything else.
    const bigint = require('wasmcurves/src/bigint.js')
    const real = bigint.isPrime
    let slow = 0
    const P = 21888242871839275222246405745257275088696311157297823662689037894645226208583n
    const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n
    bigint.isPrime = (n) => { if (BigInt(n) === P || BigInt(n) === R) slow++; return real(n) }
    ${prelude}
    const { skipKnownPrimalityTests, buildCurve } = await import(${JSON.stringify(CURVE_MODULE)})
    ${body}
  `
  const child = spawn(process.execPath, ['--import=tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  const [code] = (await once(child, 'close')) as [number | null]
  if (code !== 0) throw new Error(`the child process exited with ${code}: ${out}`)
  return JSON.parse(out)
}

/** A curve that works: the generator is on it, and the scalar field has its square roots (built only for a prime field). */
const CHECK_CURVE = `
  const curve = await buildCurve(true)
  const x = curve.Fr.e(123456789n)
  const root = curve.Fr.sqrt(curve.Fr.square(x))
  const works = curve.G1.isValid(curve.G1.g) && curve.G2.isValid(curve.G2.g) && (curve.Fr.eq(root, x) || curve.Fr.eq(root, curve.Fr.neg(x)))
  await curve.terminate()
`

test('built first, the curve skips the primality tests of its two known moduli and works as before', async (t) => {
  const r = await inFreshProcess('', `
    const applied = skipKnownPrimalityTests()
    ${CHECK_CURVE}
    console.log(JSON.stringify({ applied, slow, works, others: [bigint.isPrime(15n), bigint.isPrime(2n ** 127n - 1n), bigint.isPrime(P * R)] }))
  `)
  t.true(r.applied)
  t.is(r.slow, 0)
  t.true(r.works)
  // Any other number still gets the real test.
  t.deepEqual(r.others, [false, true, false])
})

test('once the curve code is loaded, skipping is too late: it says so, and the curve is built the slow way', async (t) => {
  const r = await inFreshProcess(`await import('ffjavascript')`, `
    const applied = skipKnownPrimalityTests()
    ${CHECK_CURVE}
    console.log(JSON.stringify({ applied, slow, works }))
  `)
  t.false(r.applied)
  t.true(r.slow > 0)
  t.true(r.works)
})

test('skipping twice changes nothing more', async (t) => {
  const r = await inFreshProcess('', `
    const first = skipKnownPrimalityTests()
    const patched = bigint.isPrime
    const second = skipKnownPrimalityTests()
    console.log(JSON.stringify({ first, second, same: bigint.isPrime === patched }))
  `)
  t.deepEqual(r, { first: true, second: true, same: true })
})
