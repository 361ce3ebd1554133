import test from 'ava'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { composeIngest, composePeerClient } from '../../src/app/compose.js'
import { asShareId } from '../../src/core/ids.js'
import { writeTree } from '../helpers/tree.js'
import { SnarkjsProver } from '../../src/adapters/snarkjs/snarkjs-prover.js'
import { CircomlibPoseidon } from '../../src/adapters/snarkjs/circomlib-poseidon.js'
import { identityFromSeed } from '../../src/core/identity.js'
import { deriveShareKey, deriveShareKeys } from '../../src/core/crypto/index.js'
import { commitmentOf, idToField, nonceToField, ownershipInput, type ProofAction } from '../../src/core/proofs/index.js'
import { sampleLeafIndices, verifyMerkleProof } from '../../src/core/audit/index.js'
import type { PackId } from '../../src/core/ids.js'
import { fromHex, toHex } from '../../src/shared/bytes.js'
import { ownerSetup } from '../helpers/zk.js'
import { startQuloud } from '../helpers/cli.js'
import { sampleBytes, sodium, tempDir, walkFiles } from '../helpers/index.js'

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

test('two quloud node processes keep the packs of a marked corpus: store, fetch, range, audit, delete; their disks hold no plaintext', async (t) => {
  const [a, b] = await Promise.all([storageNode(t), storageNode(t)])
  // The fingerprint printed at start is the one pinned out of band; the announcement must agree.
  const ca = composePeerClient(a.url, owner, { pinnedCertSha256: a.certSha256 })
  const cb = composePeerClient(b.url, owner)
  t.teardown(async () => {
    await ca.close()
    await cb.close()
  })
  // A marked corpus through the real owner pipeline: its packs are what the nodes are sent.
  const corpus = await tempDir(t)
  const marker = (i: number, at: number) => `QULOUD-PLAINTEXT-${i}-${at}`
  const tree: Record<string, string> = {}
  for (let i = 0; i < 12; i++) tree[`docs/note-${i}.txt`] = Array.from({ length: 1500 }, (_, at) => marker(i, at)).join('\n')
  await writeTree(corpus, tree)
  const work = await tempDir(t)
  const owned = await composeIngest({ indexPath: join(work, 'index.sqlite'), spoolDir: join(work, 'spool'), sourceDir: corpus })
  const shareId = asShareId(sampleBytes(63, 16))
  await owned.ingest.ingest(shareId, deriveShareKeys(sodium, deriveShareKey(sodium, sampleBytes(64, 32), shareId)), owned.source)
  const packs = owned.index.listPacks(shareId)
  const objects = await Promise.all(packs.map(async (p) => ({ objectId: p.packId, bytes: await owned.spool.get(p.packId), commitment: commitmentOf(poseidon, shareKeys.proofKey, idToField(p.packId)).toString(), merkleRoot: p.merkleRoot, ownerNodeId: owner.nodeId, ownerKeySha256: sodium.sha256(vkBytes) })))
  await owned.close()
  t.true(objects.length >= 1)
  const packMarker = Buffer.from((objects[0] as { bytes: Uint8Array }).bytes.subarray(5000, 5040))
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
    const first = objects[0] as (typeof objects)[number]
    t.deepEqual(await c.fetch(first.objectId, ticket, { offset: 4096 * 3, length: 20 }), first.bytes.subarray(4096 * 3, 4096 * 3 + 20))
    const audit = await c.audit(first.objectId, [0, 1])
    for (const p of audit.proofs) t.true(verifyMerkleProof(sodium, first.merkleRoot, first.bytes.length, p))
    const seed = sodium.randomBytes(32)
    const many = await c.auditMany(objects.map((o) => ({ objectId: o.objectId, seed, count: 4 })))
    many.forEach((a, i) => {
      const o = objects[i] as (typeof objects)[number]
      t.deepEqual(a.proofs.map((p) => p.leafIndex), sampleLeafIndices(sodium, seed, o.bytes.length, 4))
      for (const p of a.proofs) t.true(verifyMerkleProof(sodium, o.merkleRoot, o.bytes.length, p))
    })
  }
  for (const node of [a, b]) {
    let scanned = 0
    for (const f of walkFiles(node.data)) {
      const body = readFileSync(f)
      scanned += body.length
      t.false(body.includes('QULOUD-PLAINTEXT'), `${f} holds plaintext of the marked corpus`)
      t.false(body.includes(packMarker), `${f} holds the pack bytes as the owner sent them`)
    }
    t.true(scanned > objects.reduce((n, o) => n + o.bytes.length, 0))
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
