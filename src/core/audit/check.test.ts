import test from 'ava'
import { MerkleTree, sampleLeafIndices } from './merkle.js'
import { checkAuditAnswer } from './check.js'
import { asPackId } from '../ids.js'
import { sodium, sampleBytes } from '../../../test/helpers/index.js'

const obj = sampleBytes(7, 5 * 4096 + 123)
const tree = new MerkleTree(sodium, obj)
const seed = sampleBytes(8, 32)
const leafIndices = sampleLeafIndices(sodium, seed, obj.length, 4)
const want = { objectId: asPackId(sampleBytes(9, 32)), sizeBytes: obj.length, merkleRoot: tree.root, leafIndices }
const honest = () => ({ sizeBytes: obj.length, proofs: leafIndices.map((i) => tree.proof(i)) })

test('an honest answer passes', (t) => {
  t.deepEqual(checkAuditAnswer(sodium, want, honest()), { ok: true })
})

test('no answer, a wrong size, missing, reordered or altered leaves, a wrong root: each fails with its reason', (t) => {
  const fails = (got: Parameters<typeof checkAuditAnswer>[2], why: RegExp, w = want) => {
    const v = checkAuditAnswer(sodium, w, got)
    t.false(v.ok)
    if (!v.ok) t.regex(v.reason, why)
  }
  fails(undefined, /no answer/)
  fails({ ...honest(), sizeBytes: obj.length + 1 }, /bytes, not/)
  fails({ ...honest(), proofs: honest().proofs.slice(1) }, /3 leaves answered, 4 asked/)
  const other = (leafIndices[0] as number) === 0 ? 1 : 0
  fails({ ...honest(), proofs: [tree.proof(other), ...honest().proofs.slice(1)] }, /answered where/)
  const altered = honest()
  const p0 = altered.proofs[0] as (typeof altered.proofs)[0]
  const leaf = p0.leaf.slice()
  leaf[0] = (leaf[0] as number) ^ 1
  altered.proofs[0] = { ...p0, leaf }
  fails(altered, /does not lead to the kept Merkle root/)
  fails(honest(), /Merkle root/, { ...want, merkleRoot: new Uint8Array(32) })
})
