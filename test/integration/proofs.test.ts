import test from 'ava'
import { buildBn128 } from 'ffjavascript'
import { groth16 } from 'snarkjs'
import { SnarkjsProver } from '../../src/adapters/snarkjs/snarkjs-prover.js'
import { SnarkjsVerifier, terminateSnarkjs } from '../../src/adapters/snarkjs/snarkjs-verifier.js'
import { CircomlibPoseidon } from '../../src/adapters/snarkjs/circomlib-poseidon.js'
import { deriveShareKeys, BN254_SCALAR_MODULUS } from '../../src/core/crypto/index.js'
import { NonceStore, checkOwnershipProof, commitmentOf, idToField, nonceToField, ownershipInput, publicSignals, type ProofAction, type StatementItem } from '../../src/core/proofs/index.js'
import type { Groth16Proof, Prover } from '../../src/core/ports/prover.js'
import { BackupError } from '../../src/core/errors.js'
import { SystemClock } from '../../src/adapters/system/system-clock.js'
import { ownerSetup } from '../helpers/zk.js'
import { Groth16Prover } from '../../src/adapters/snarkjs/groth16-prover.js'
import { nativeMsm } from '../../src/adapters/snarkjs/native-msm.js'
import { CIRCUIT_WASM, readCheckedArtifact } from '../../src/adapters/snarkjs/circuit-artifacts.js'
import { WitnessCalculatorBuilder } from 'circom_runtime'
import { sodium } from '../helpers/index.js'

const [setupA, setupB, poseidon] = await Promise.all([ownerSetup('a'), ownerSetup('b'), CircomlibPoseidon.create()])
const proverA = new SnarkjsProver(setupA.provingKey)
const proverB = new SnarkjsProver(setupB.provingKey)
const verifier = new SnarkjsVerifier()
// snarkjs's own verify and the re-randomising test share ffjavascript's global curve. Concurrent
// first calls would each build one and orphan all but the last (keeping the process alive), so
// it is built once here, before any test runs.
await buildBn128()
test.after.always(async () => {
  await proverA.close()
  await proverB.close()
  await verifier.close()
  await terminateSnarkjs()
})

const keys = deriveShareKeys(sodium, new Uint8Array(32).fill(21))
const otherKeys = deriveShareKeys(sodium, new Uint8Array(32).fill(22))
const nodeA = idToField(sodium.randomBytes(32))
const nodeB = idToField(sodium.randomBytes(32))
const items: StatementItem[] = [1, 2, 3].map(() => {
  const objectId = idToField(sodium.randomBytes(32))
  return { objectId, commitment: commitmentOf(poseidon, keys.proofKey, objectId) }
})

function nonceStore() {
  return new NonceStore({ clock: new SystemClock(), randomBytes: (n) => sodium.randomBytes(n) })
}

async function prove(opts: { nonce: Uint8Array; nodeId?: bigint; action?: ProofAction; proofKey?: bigint; prover?: Prover; items?: StatementItem[] }) {
  const ctx = { nonce: nonceToField(opts.nonce), nodeId: opts.nodeId ?? nodeA, action: opts.action ?? 'fetch' }
  return (opts.prover ?? proverA).prove(ownershipInput(opts.proofKey ?? keys.proofKey, opts.items ?? items, ctx))
}

function check(nonces: NonceStore, nonce: Uint8Array, proof: unknown, over: { nodeId?: bigint; action?: ProofAction; items?: StatementItem[]; vk?: unknown } = {}) {
  return checkOwnershipProof({ verifier, nonces }, {
    verificationKey: over.vk ?? setupA.verificationKey, nodeId: over.nodeId ?? nodeA, action: over.action ?? 'fetch', items: over.items ?? items, nonce, proof,
  })
}

test('Poseidon outside the circuit: the circomlib vector, our commitment vector, canonical inputs only', (t) => {
  t.is(poseidon.hash([1n, 2n]), 7853200120776062878684798364095072458815029376092732009249414926327459813530n)
  // docs/FORMAT.md §7: the kdf vector's proofKey and the pack vector's id (32 × 0x77).
  const objectId = idToField(new Uint8Array(32).fill(0x77))
  t.is(objectId, 10259822567069007419840314846873140154429264043133527864350464163874510174069n)
  t.is(commitmentOf(poseidon, 14206194239731856440137815698866694424539082982913304009349570975841261106140n, objectId), 10084341488489030004556009151020462111939452386528370728021613041513769191293n)
  t.throws(() => poseidon.hash([BN254_SCALAR_MODULUS, 1n]), { instanceOf: BackupError, code: 'INPUT_INVALID' })
})

test('a valid proof verifies, and its public signals are the ones the verifier rebuilds', async (t) => {
  const nonces = nonceStore()
  const { nonce } = nonces.issue()
  const { proof, publicSignals: fromProver } = await prove({ nonce })
  t.deepEqual(fromProver, publicSignals(items, { nonce: nonceToField(nonce), nodeId: nodeA, action: 'fetch' }))
  await t.notThrowsAsync(check(nonces, nonce, JSON.parse(JSON.stringify(proof))))
})

test('warm() (a nonce was asked for) loads the verifier ahead of the proof, at most once; after close it does nothing', async (t) => {
  const fresh = new SnarkjsVerifier()
  fresh.warm()
  fresh.warm()
  const nonces = nonceStore()
  const { nonce } = nonces.issue()
  const { proof, publicSignals: signals } = await prove({ nonce })
  t.true(await fresh.verify(setupA.verificationKey, signals, proof))
  t.false(await fresh.verify(setupA.verificationKey, signals.map((s, i) => (i === 0 ? String(BigInt(s) + 1n) : s)), proof))
  await fresh.close()
  t.notThrows(() => fresh.warm())
  await t.notThrowsAsync(fresh.close())
})

test('the native (all in C, no curve library) and the WASM paths both make proofs that snarkjs accepts', async (t) => {
  t.truthy(nativeMsm(), 'npm install builds the native module')
  const calculator = await WitnessCalculatorBuilder(readCheckedArtifact(CIRCUIT_WASM))
  const { nonce } = nonceStore().issue()
  const signals = publicSignals(items, { nonce: nonceToField(nonce), nodeId: nodeA, action: 'fetch' })
  const wtns = await calculator.calculateWTNSBin({ ...ownershipInput(keys.proofKey, items, { nonce: nonceToField(nonce), nodeId: nodeA, action: 'fetch' }) }, true)
  for (const native of [true, false]) {
    const prover = await Groth16Prover.load(setupA.provingKey, { native })
    t.is(prover.fullyNative, native)
    const { proof, publicSignals: out } = await prover.prove(wtns)
    t.deepEqual(out, signals)
    t.true(await groth16.verify(setupA.verificationKey, out, proof as never), native ? 'native' : 'wasm')
    t.false(await groth16.verify(setupB.verificationKey, out, proof as never), 'not under another setup')
  }
  // A witness for another circuit size, or a damaged proving key, is refused before any work.
  const prover = await Groth16Prover.load(setupA.provingKey)
  await t.throwsAsync(prover.prove(wtns.slice(0, wtns.length - 32)), { message: /truncated|witness/ })
  await t.throwsAsync(Groth16Prover.load(setupA.provingKey.slice(0, 1000)), { message: /truncated|lacks/ })
})

test('the prover proves on the calling thread (C threads, no worker): several proofs at once all verify, one at a time in the order asked; a false statement among them is refused and changes nothing', async (t) => {
  const inline = new SnarkjsProver(setupA.provingKey)
  const workers = new SnarkjsProver(setupA.provingKey, { workers: true })
  t.teardown(() => Promise.all([inline.close(), workers.close()]))
  const nonces = nonceStore()
  const asks = Array.from({ length: 6 }, (_, i) => ({ nonce: nonces.issue().nonce, proofKey: i === 2 ? otherKeys.proofKey : keys.proofKey }))
  const done: number[] = []
  const results = await Promise.allSettled(asks.map((a, i) => prove({ ...a, prover: inline }).finally(() => done.push(i))))
  // Each proof has all the threads until it is done: the first asked is the first made.
  t.deepEqual(done.filter((i) => i !== 2), [0, 1, 3, 4, 5])
  for (const [i, r] of results.entries()) {
    if (i === 2) {
      t.is(r.status, 'rejected')
      t.like((r as PromiseRejectedResult).reason, { code: 'PROOF_REJECTED' })
      continue
    }
    t.is(r.status, 'fulfilled', `proof ${i}`)
    await t.notThrowsAsync(check(nonces, asks[i]!.nonce, (r as PromiseFulfilledResult<{ proof: Groth16Proof }>).value.proof), `proof ${i}`)
  }
  // The worker pool (hosts without the native module, or when asked for) makes the same proofs.
  const { nonce } = nonces.issue()
  await t.notThrowsAsync(check(nonces, nonce, (await prove({ nonce, prover: workers })).proof))
  await inline.close()
  await t.throwsAsync(prove({ nonce: nonces.issue().nonce, prover: inline }), { instanceOf: BackupError, code: 'CLOSED' })
})

test('a wrong proofKey cannot produce a proof', async (t) => {
  const { nonce } = nonceStore().issue()
  await t.throwsAsync(prove({ nonce, proofKey: otherKeys.proofKey }), { instanceOf: BackupError, code: 'PROOF_REJECTED' })
})

test('changing an object id, a commitment, the nonce, the node or the action makes it fail', async (t) => {
  const nonces = nonceStore()
  const { nonce } = nonces.issue()
  const { proof } = await prove({ nonce })
  const otherId = idToField(sodium.randomBytes(32))
  const cases: Array<[string, Parameters<typeof check>[3], Uint8Array?]> = [
    ['another object id', { items: [{ ...items[0]!, objectId: otherId }, items[1]!, items[2]!] }],
    ['another commitment', { items: [items[0]!, { ...items[1]!, commitment: commitmentOf(poseidon, keys.proofKey, otherId) }, items[2]!] }],
    ['a fetch proof presented as a delete', { action: 'delete' }],
    ['a proof for node A presented at node B', { nodeId: nodeB }],
    ['a proof for another nonce', {}, nonces.issue().nonce],
  ]
  for (const [label, over, otherNonce] of cases) {
    const n = otherNonce ?? nonces.issue().nonce
    await t.throwsAsync(check(nonces, n, proof, over), { instanceOf: BackupError, code: 'PROOF_REJECTED' }, label)
  }
})

test('replays fail: the same proof, and a re-randomised one that still verifies, meet a spent nonce', async (t) => {
  const nonces = nonceStore()
  const { nonce } = nonces.issue()
  const { proof, publicSignals: signals } = await prove({ nonce })
  await check(nonces, nonce, proof)
  await t.throwsAsync(check(nonces, nonce, proof), { instanceOf: BackupError, code: 'NONCE_INVALID' })
  // Groth16 malleability: (rA, B/r, C) is another valid proof of the same statement.
  // snarkjs's shared curve instance; terminateSnarkjs() ends it after all tests.
  const curve = await buildBn128()
  {
    const r = curve.Fr.e(123456789n)
    const A = curve.G1.timesFr(curve.G1.fromObject(proof.pi_a.map(BigInt)), r)
    const B = curve.G2.timesFr(curve.G2.fromObject(proof.pi_b.map((p) => p.map(BigInt))), curve.Fr.inv(r))
    const str = (v: bigint[] | bigint[][]): any => v.map((x) => (Array.isArray(x) ? x.map(String) : String(x)))
    const rerandomised: Groth16Proof = { ...proof, pi_a: str(curve.G1.toObject(curve.G1.toAffine(A))), pi_b: str(curve.G2.toObject(curve.G2.toAffine(B))) }
    t.notDeepEqual(rerandomised.pi_a, proof.pi_a)
    t.true(await verifier.verify(setupA.verificationKey, signals, rerandomised), 'the re-randomised proof verifies on its own')
    t.true(await groth16.verify(setupA.verificationKey, signals, rerandomised), 'and so it does for snarkjs itself')
    await t.throwsAsync(check(nonces, nonce, rerandomised), { instanceOf: BackupError, code: 'NONCE_INVALID' })
  }
})

test('a proof made under another owner\'s setup fails against the pinned key', async (t) => {
  const nonces = nonceStore()
  const { nonce } = nonces.issue()
  const { proof } = await prove({ nonce, prover: proverB })
  await t.throwsAsync(check(nonces, nonce, proof), { instanceOf: BackupError, code: 'PROOF_REJECTED' })
  const again = nonces.issue().nonce
  const { proof: proofB } = await prove({ nonce: again, prover: proverB })
  await t.notThrowsAsync(check(nonces, again, proofB, { vk: setupB.verificationKey }), 'it is valid under its own key')
})

test('malformed proofs, wrong sizes and values at or above the modulus: clear errors, no crash', async (t) => {
  const nonces = nonceStore()
  const { nonce } = nonces.issue()
  const { proof } = await prove({ nonce })
  for (const bad of [null, 'x', { ...proof, pi_a: proof.pi_a.slice(0, 2) }, { ...proof, pi_b: proof.pi_b.slice(0, 2) }, { ...proof, pi_c: [BN254_SCALAR_MODULUS.toString() + '0', '1', '1'] }]) {
    await t.throwsAsync(check(nonces, nonce, bad), { instanceOf: BackupError, code: 'INPUT_INVALID' })
  }
  // Commitments the node holds are canonical; one at the modulus is refused before verifying.
  await t.throwsAsync(check(nonces, nonces.issue().nonce, proof, { items: [{ ...items[0]!, commitment: BN254_SCALAR_MODULUS }] }), { instanceOf: BackupError, code: 'PROOF_REJECTED' })
  // A point that is not on the curve: the verifier says no instead of throwing.
  t.false(await verifier.verify(setupA.verificationKey, publicSignals(items, { nonce: nonceToField(nonce), nodeId: nodeA, action: 'fetch' }), { ...proof, pi_a: ['1', '3', '1'] }))
  // An input at the modulus never becomes a proof (the witness calculator would reduce it).
  const n2 = nonces.issue().nonce
  const good = ownershipInput(keys.proofKey, items, { nonce: nonceToField(n2), nodeId: nodeA, action: 'fetch' })
  await t.throwsAsync(proverA.prove({ ...good, nodeId: BN254_SCALAR_MODULUS.toString() }), { instanceOf: BackupError, code: 'INPUT_INVALID' })
  await t.throwsAsync(proverA.prove({ ...good, objectIds: good.objectIds.slice(1) }), { instanceOf: BackupError, code: 'INPUT_INVALID' })
  await t.throwsAsync(proverA.prove({ ...good, nonce: '-1' }), { instanceOf: BackupError, code: 'INPUT_INVALID' })
  t.throws(() => ownershipInput(BN254_SCALAR_MODULUS, items, { nonce: 1n, nodeId: nodeA, action: 'fetch' }), { instanceOf: BackupError, code: 'INPUT_INVALID' })
  // More objects than a batch holds.
  t.throws(() => ownershipInput(keys.proofKey, Array(17).fill(items[0]), { nonce: 1n, nodeId: nodeA, action: 'fetch' }), { instanceOf: BackupError, code: 'INPUT_INVALID' })
  // The good proof still works with its nonce after all that (malformed input spent nothing).
  await t.notThrowsAsync(check(nonces, nonce, proof))
})

test('our verifier agrees with snarkjs groth16.verify on valid and altered statements', async (t) => {
  const nonces = nonceStore()
  const { nonce } = nonces.issue()
  const { proof } = await prove({ nonce })
  const good = publicSignals(items, { nonce: nonceToField(nonce), nodeId: nodeA, action: 'fetch' })
  const variants = [
    good,
    publicSignals(items, { nonce: nonceToField(nonce), nodeId: nodeB, action: 'fetch' }),
    publicSignals(items, { nonce: nonceToField(nonce), nodeId: nodeA, action: 'delete' }),
    good.map((s, i) => (i === 3 ? '1' : s)),
  ]
  for (const [i, signals] of variants.entries()) {
    const ours = await verifier.verify(setupA.verificationKey, signals, proof)
    t.is(ours, await groth16.verify(setupA.verificationKey, signals, proof), `variant ${i}`)
    t.is(ours, i === 0, `variant ${i}`)
  }
  t.false(await verifier.verify(setupB.verificationKey, good, proof))
  t.false(await verifier.verify({ protocol: 'groth16' }, good, proof))
  t.false(await verifier.verify(setupA.verificationKey, good.slice(1), proof))
})
