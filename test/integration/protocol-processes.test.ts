import test from 'ava'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { composePeerClient } from '../../src/app/compose.js'
import { SnarkjsProver } from '../../src/adapters/snarkjs/snarkjs-prover.js'
import { CircomlibPoseidon } from '../../src/adapters/snarkjs/circomlib-poseidon.js'
import { identityFromSeed } from '../../src/core/identity.js'
import { deriveShareKeys } from '../../src/core/crypto/index.js'
import { commitmentOf, idToField, nonceToField, ownershipInput, type ProofAction } from '../../src/core/proofs/index.js'
import { merkleRoot, sampleLeafIndices, verifyMerkleProof } from '../../src/core/audit/index.js'
import { asPackId, type PackId } from '../../src/core/ids.js'
import { fromHex, toHex } from '../../src/shared/bytes.js'
import { ownerSetup } from '../helpers/zk.js'
import { startQuloud } from '../helpers/cli.js'
import { sampleBytes, sodium, tempDir } from '../helpers/index.js'

const [setup, poseidon] = await Promise.all([ownerSetup('a'), CircomlibPoseidon.create()])
const prover = new SnarkjsProver(setup.provingKey)
test.after.always(() => prover.close())
const vkBytes = new TextEncoder().encode(JSON.stringify(setup.verificationKey))
const owner = identityFromSeed(sodium, sampleBytes(61, 32))
const shareKeys = deriveShareKeys(sodium, sampleBytes(62, 32))

async function storageNode(t: Parameters<typeof tempDir>[0]) {
  const data = await tempDir(t)
  const node = await startQuloud(t, ['start', '--data', data, '--web-listen', '127.0.0.1:0', '--peer-listen', '127.0.0.1:0'])
  const m = /peer protocol: +(https:\/\/127\.0\.0\.1:\d+) \(TLS certificate sha256 ([0-9a-f]{64})\)/.exec(node.output().stdout)
  if (!m) throw new Error(`no peer address in:\n${node.output().stdout}`)
  return { ...node, data, url: m[1] as string, certSha256: fromHex(m[2] as string) as Uint8Array }
}

async function prove(ids: PackId[], nonce: Uint8Array, nodeId: Uint8Array, action: ProofAction) {
  const items = ids.map((id) => ({ objectId: idToField(id), commitment: commitmentOf(poseidon, shareKeys.proofKey, idToField(id)) }))
  return (await prover.prove(ownershipInput(shareKeys.proofKey, items, { nonce: nonceToField(nonce), nodeId: idToField(nodeId), action }))).proof
}

function* files(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) yield* files(p)
    else yield p
  }
}

test('two quloud node processes keep an owner\'s objects: store, fetch, range, audit, delete; their disks hold no marked bytes', async (t) => {
  const [a, b] = await Promise.all([storageNode(t), storageNode(t)])
  // The fingerprint printed at start is the one pinned out of band; the announcement must agree.
  const ca = composePeerClient(a.url, owner, { pinnedCertSha256: a.certSha256 })
  const cb = composePeerClient(b.url, owner)
  t.teardown(async () => {
    await ca.close()
    await cb.close()
  })
  const objects = [1, 2, 3].map((i) => {
    // A marked corpus: the owner's (already encrypted) pack bytes carry a recognisable pattern.
    const bytes = sampleBytes(70 + i, 700_000)
    for (let at = 0; at < bytes.length; at += 4096) bytes.set(new TextEncoder().encode(`QULOUD-MARKER-${i}-${at}`), at)
    const objectId = asPackId(sampleBytes(80 + i, 32))
    return { objectId, bytes, commitment: commitmentOf(poseidon, shareKeys.proofKey, idToField(objectId)).toString(), merkleRoot: merkleRoot(sodium, bytes), ownerNodeId: owner.nodeId, ownerKeySha256: sodium.sha256(vkBytes) }
  })
  for (const c of [ca, cb]) {
    await c.putOwnerKey(vkBytes)
    for (const o of objects) await c.store(o)
  }
  const ids = objects.map((o) => o.objectId)
  for (const c of [ca, cb]) {
    const nodeId = (await c.announcement()).nodeId
    const nonce = await c.nonce()
    const { ticket } = await c.grantFetch({ nonce, objectIds: ids, proof: await prove(ids, nonce, nodeId, 'fetch') })
    for (const o of objects) t.is(toHex(sodium.sha256(await c.fetch(o.objectId, ticket))), toHex(sodium.sha256(o.bytes)))
    t.deepEqual(await c.fetch(ids[1] as PackId, ticket, { offset: 4096 * 3, length: 20 }), new TextEncoder().encode('QULOUD-MARKER-2-1228'))
    const audit = await c.audit(ids[2] as PackId, [0, 170])
    for (const p of audit.proofs) t.true(verifyMerkleProof(sodium, objects[2]?.merkleRoot as Uint8Array, 700_000, p))
    const seed = sodium.randomBytes(32)
    const many = await c.auditMany(objects.map((o) => ({ objectId: o.objectId, seed, count: 4 })))
    many.forEach((a, i) => {
      t.deepEqual(a.proofs.map((p) => p.leafIndex), sampleLeafIndices(sodium, seed, 700_000, 4))
      for (const p of a.proofs) t.true(verifyMerkleProof(sodium, objects[i]?.merkleRoot as Uint8Array, 700_000, p))
    })
  }
  for (const node of [a, b]) {
    let scanned = 0
    for (const f of files(node.data)) {
      const body = readFileSync(f)
      scanned += body.length
      t.false(body.includes('QULOUD-MARKER'), `${f} holds marked bytes`)
    }
    t.true(scanned > 3 * 700_000)
  }
  const aId = (await ca.announcement()).nodeId
  const dn = await ca.nonce()
  t.is((await ca.delete({ nonce: dn, objectIds: [ids[0] as PackId], proof: await prove([ids[0] as PackId], dn, aId, 'delete') })).length, 1)
  await t.throwsAsync(ca.audit(ids[0] as PackId, [0]), { code: 'OBJECT_MISSING' })
  t.is((await cb.audit(ids[0] as PackId, [0])).proofs.length, 1, 'the other node still keeps it')
  a.child.kill('SIGTERM')
  t.is(await a.exited, 0)
  await t.throwsAsync(ca.announcement(), { code: 'PEER_UNREACHABLE' })
  t.is(toHex((await cb.announcement()).nodeId).length, 64, 'the other node is unaffected')
})
