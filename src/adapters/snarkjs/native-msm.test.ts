import test from 'ava'
import { buildBn128, type Curve } from 'ffjavascript'
import { nativeMsm, type NativeMsm } from './native-msm.js'

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

for (const group of ['G1', 'G2'] as const) {
  test(`native ${group} multi-exponentiation equals ffjavascript's, small and batched paths`, async (t) => {
    t.truthy(msm, 'the native module is built by npm install')
    for (const n of [1, 2, 7, 40, 700]) {
      const { g, bases, scalars } = inputs(group, n)
      const ours = await msm(group === 'G1' ? 1 : 2, bases, scalars)
      const theirs = await g.multiExpAffine(bases, scalars)
      // ffjavascript reads a lone all-zero base as the point (0, 0); with n >= 6 it is infinity.
      if (n >= 6) t.true(g.eq(ours, theirs), `${group}, ${n} points`)
      const plain = Array.from({ length: n }, (_, i) => i).reduce(
        (acc: Uint8Array, i) => {
          const size = group === 'G1' ? 64 : 128
          const p = bases.subarray(i * size, (i + 1) * size)
          if (p.every((b) => b === 0)) return acc
          return g.add(acc, g.timesScalar(p, scalars.subarray(i * 32, (i + 1) * 32)))
        },
        g.zero,
      )
      t.true(g.eq(ours, plain), `${group}, ${n} points, against point-by-point sums`)
    }
  })
}

test('the native module refuses bad arguments with a TypeError and no crash', (t) => {
  const call = msm as unknown as (...a: unknown[]) => unknown
  t.throws(() => call(3, new Uint8Array(64), new Uint8Array(32)), { instanceOf: TypeError, message: /group/ })
  t.throws(() => call(1, new Uint8Array(64), new Uint8Array(31)), { instanceOf: TypeError, message: /matching lengths/ })
  t.throws(() => call(2, new Uint8Array(64), new Uint8Array(32)), { instanceOf: TypeError, message: /matching lengths/ })
  t.throws(() => call(1, 'x', new Uint8Array(32)), { instanceOf: TypeError, message: /Uint8Arrays/ })
  t.throws(() => call(1, new Uint8Array(64)), { instanceOf: TypeError })
})
