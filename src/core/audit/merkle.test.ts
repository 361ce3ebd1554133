import test from 'ava'
import fc from 'fast-check'
import { MerkleTree, verifyMerkleProof, sampleLeafIndices, MERKLE_LEAF_BYTES } from './merkle.js'
import { BackupError } from '../errors.js'
import { sodium, sampleBytes } from '../../../test/helpers/index.js'

test('every leaf proof verifies, for trees of many shapes', (t) => {
  for (const n of [1, 4095, 4096, 4097, 3 * 4096, 5 * 4096 + 1, 33 * 4096 - 7]) {
    const obj = sampleBytes(n, n)
    const tree = new MerkleTree(sodium, obj)
    for (let i = 0; i < tree.leafCount; i++) t.true(verifyMerkleProof(sodium, tree.root, n, tree.proof(i)), `size ${n} leaf ${i}`)
  }
})

test('a wrong leaf, sibling, index, size or root fails, and never throws', (t) => {
  const obj = sampleBytes(1, 20 * 4096 + 100)
  const tree = new MerkleTree(sodium, obj)
  fc.assert(
    fc.property(fc.nat(tree.leafCount - 1), fc.nat(), fc.integer({ min: 0, max: 7 }), (i, pos, bit) => {
      const p = tree.proof(i)
      const leaf = p.leaf.slice()
      leaf[pos % leaf.length] = (leaf[pos % leaf.length] as number) ^ (1 << bit)
      t.false(verifyMerkleProof(sodium, tree.root, obj.length, { ...p, leaf }))
      if (p.siblings.length > 0) {
        const siblings = p.siblings.map((s) => s.slice())
        const s0 = siblings[pos % siblings.length] as Uint8Array
        s0[0] = (s0[0] as number) ^ (1 << bit)
        t.false(verifyMerkleProof(sodium, tree.root, obj.length, { ...p, siblings }))
      }
      t.false(verifyMerkleProof(sodium, tree.root, obj.length, { ...p, leafIndex: (i + 1) % tree.leafCount }))
      t.false(verifyMerkleProof(sodium, tree.root, obj.length + 1, p))
      t.false(verifyMerkleProof(sodium, new Uint8Array(32), obj.length, p))
    }),
    { numRuns: 100 },
  )
  const p = tree.proof(0)
  for (const bad of [
    { ...p, leafIndex: -1 }, { ...p, leafIndex: 1e9 }, { ...p, leafIndex: 0.5 }, { ...p, siblings: [] },
    { ...p, siblings: [...p.siblings, new Uint8Array(32)] }, { ...p, siblings: 'x' as never }, { ...p, leaf: 'x' as never },
    { ...p, leaf: p.leaf.subarray(0, 10) },
  ]) {
    t.false(verifyMerkleProof(sodium, tree.root, obj.length, bad))
  }
  t.false(verifyMerkleProof(sodium, tree.root, 0, p))
  t.false(verifyMerkleProof(sodium, tree.root, -5, p))
})

test('leaf sampling is deterministic in the seed and in range', (t) => {
  const seed = new Uint8Array(32).fill(5)
  const a = sampleLeafIndices(sodium, seed, 100 * MERKLE_LEAF_BYTES, 16)
  t.deepEqual(a, sampleLeafIndices(sodium, seed, 100 * MERKLE_LEAF_BYTES, 16))
  t.true(a.every((i) => i >= 0 && i < 100))
  t.notDeepEqual(a, sampleLeafIndices(sodium, new Uint8Array(32).fill(6), 100 * MERKLE_LEAF_BYTES, 16))
})

test('empty objects and out-of-range proofs are refused with INPUT_INVALID', (t) => {
  t.throws(() => new MerkleTree(sodium, new Uint8Array(0)), { instanceOf: BackupError, code: 'INPUT_INVALID' })
  t.throws(() => new MerkleTree(sodium, new Uint8Array(10)).proof(1), { instanceOf: BackupError, code: 'INPUT_INVALID' })
})
