import test from 'ava'
import { Agent, request } from 'undici'
import { connect } from 'node:tls'
import { createServer } from 'node:net'
import { composePeerClient, composePeerServer, type ComposedPeerServer } from '../../src/app/compose.js'
import { SnarkjsProver } from '../../src/adapters/snarkjs/snarkjs-prover.js'
import { terminateSnarkjs } from '../../src/adapters/snarkjs/snarkjs-verifier.js'
import { CircomlibPoseidon } from '../../src/adapters/snarkjs/circomlib-poseidon.js'
import { JsonLogger } from '../../src/adapters/log/json-logger.js'
import { identityFromSeed } from '../../src/core/identity.js'
import { deriveShareKeys } from '../../src/core/crypto/index.js'
import { commitmentOf, idToField, nonceToField, ownershipInput, type ProofAction } from '../../src/core/proofs/index.js'
import { merkleRoot, verifyMerkleProof } from '../../src/core/audit/index.js'
import { asPackId, type PackId } from '../../src/core/ids.js'
import { announcementToJson, signBlob, signPointer, signRequest } from '../../src/core/protocol/index.js'
import { toHex } from '../../src/shared/bytes.js'
import { BackupError } from '../../src/core/errors.js'
import { ownerSetup } from '../helpers/zk.js'
import { join } from 'node:path'
import { ChunkFetcher } from '../../src/app/owner/chunk-fetcher.js'
import { PeerPool } from '../../src/app/owner/peer-pool.js'
import { SqliteIndexStore } from '../../src/adapters/sqlite/sqlite-index-store.js'
import { HttpsPeerClient } from '../../src/adapters/https-peer/https-peer-client.js'
import { SystemClock } from '../../src/adapters/system/system-clock.js'
import { OWNERSHIP_BATCH } from '../../src/core/proofs/index.js'
import type { PeerRef } from '../../src/core/snapshot/index.js'
import type { PeerClient } from '../../src/core/ports/peer-client.js'
import { intercept, sampleBytes, sodium, tempDir } from '../helpers/index.js'

const [setup, poseidon] = await Promise.all([ownerSetup('a'), CircomlibPoseidon.create()])
const prover = new SnarkjsProver(setup.provingKey)
const vkBytes = new TextEncoder().encode(JSON.stringify(setup.verificationKey))
const log = new JsonLogger({ level: 'error' })
const owner = identityFromSeed(sodium, sampleBytes(1, 32))
const shareKeys = deriveShareKeys(sodium, sampleBytes(2, 32))
const servers: ComposedPeerServer[] = []
test.after.always(async () => {
  for (const s of servers) await s.close()
  await prover.close()
  await terminateSnarkjs()
})

async function storageNode(t: Parameters<typeof tempDir>[0], seed: number, limits = {}, requestTimeoutMs?: number) {
  const server = await composePeerServer({ dataDir: await tempDir(t), listen: { host: '127.0.0.1', port: 0 }, identity: identityFromSeed(sodium, sampleBytes(seed, 32)), log, limits, ...(requestTimeoutMs ? { requestTimeoutMs } : {}) })
  servers.push(server)
  return server
}

function object(seed: number, size: number) {
  const bytes = sampleBytes(seed, size)
  const objectId = asPackId(sampleBytes(seed + 500, 32))
  const commitment = commitmentOf(poseidon, shareKeys.proofKey, idToField(objectId)).toString()
  return { objectId, bytes, commitment, merkleRoot: merkleRoot(sodium, bytes), ownerNodeId: owner.nodeId, ownerKeySha256: sodium.sha256(vkBytes) }
}

async function prove(ids: PackId[], nonce: Uint8Array, storageNodeId: Uint8Array, action: ProofAction, proofKey = shareKeys.proofKey) {
  // The commitments are always the stored ones (made with the share's key); proofKey may differ.
  const items = ids.map((id) => ({ objectId: idToField(id), commitment: commitmentOf(poseidon, shareKeys.proofKey, idToField(id)) }))
  const { proof } = await prover.prove(ownershipInput(proofKey, items, { nonce: nonceToField(nonce), nodeId: idToField(storageNodeId), action }))
  return proof
}

/** An agent that accepts any certificate: for raw requests that play a misbehaving client. */
const insecure = new Agent({ connect: { rejectUnauthorized: false } })
async function raw(url: string, method: string, path: string, body?: Uint8Array, headers: Record<string, string> = {}) {
  const res = await request(`${url}${path}`, { method: method as 'POST', headers, body: body ? Buffer.from(body) : undefined, dispatcher: insecure })
  const text = await res.body.text()
  return { status: res.statusCode, error: res.statusCode >= 400 ? JSON.parse(text).error.code : undefined, text }
}

test('store, fetch with a proof, fetch a byte range, audit and delete between two nodes over pinned HTTPS', async (t) => {
  const server = await storageNode(t, 10)
  const client = composePeerClient(server.url(), owner)
  t.teardown(() => client.close())
  const ann = await client.announcement()
  t.is(toHex(ann.nodeId), toHex(server.handler.nodeId))
  t.deepEqual(ann.addresses, [server.url()])
  t.deepEqual(await client.putOwnerKey(vkBytes), sodium.sha256(vkBytes))

  const o = object(3, 1024 * 1024 + 333)
  const receipt = await client.store(o)
  t.is(receipt.sizeBytes, o.bytes.length)
  t.deepEqual(await client.store(o), { ...receipt, signature: (await client.store(o)).signature }, 'storing again is harmless')

  const nonce = await client.nonce()
  const { ticket } = await client.grantFetch({ nonce, objectIds: [o.objectId], proof: await prove([o.objectId], nonce, ann.nodeId, 'fetch') })
  const whole = await client.fetch(o.objectId, ticket)
  t.is(toHex(sodium.sha256(whole)), toHex(sodium.sha256(o.bytes)))
  t.deepEqual(await client.fetch(o.objectId, ticket, { offset: 70_000, length: 100 }), o.bytes.subarray(70_000, 70_100))
  // Into the caller's memory, as a restore reads: on the client's range reader, from the real node.
  const into = new Uint8Array(new SharedArrayBuffer(300_000))
  t.is(await client.fetch(o.objectId, ticket, { offset: 500_000, length: 300_000, into }), into)
  t.deepEqual(new Uint8Array(into), o.bytes.subarray(500_000, 800_000))
  await t.throwsAsync(client.fetch(o.objectId, new Uint8Array(32), { offset: 0, length: 10, into: new Uint8Array(10) }), { code: 'PROOF_REJECTED' })
  await t.throwsAsync(client.fetch(o.objectId, ticket, { offset: o.bytes.length - 5, length: 10, into: new Uint8Array(10) }), { code: 'INPUT_INVALID' })

  const audit = await client.audit(o.objectId, [0, 100, 256])
  t.is(audit.sizeBytes, o.bytes.length)
  for (const p of audit.proofs) t.true(verifyMerkleProof(sodium, o.merkleRoot, o.bytes.length, p))

  const dn = await client.nonce()
  t.deepEqual((await client.delete({ nonce: dn, objectIds: [o.objectId], proof: await prove([o.objectId], dn, ann.nodeId, 'delete') })).map(toHex), [toHex(o.objectId)])
  await t.throwsAsync(client.fetch(o.objectId, ticket), { code: 'PROOF_REJECTED' })
  await t.throwsAsync(client.fetch(o.objectId, ticket, { offset: 0, length: 10, into: new Uint8Array(10) }), { code: 'PROOF_REJECTED' })
  await t.throwsAsync(client.audit(o.objectId, [0]), { code: 'OBJECT_MISSING' })
})

test('fetches served from reused memory never mix: a client gone mid-fetch, then concurrent fetches of different ranges, all exact', async (t) => {
  const server = await storageNode(t, 11)
  const client = composePeerClient(server.url(), owner)
  t.teardown(() => client.close())
  const nodeId = (await client.announcement()).nodeId
  await client.putOwnerKey(vkBytes)
  const o = object(4, 6 * 1024 * 1024 + 4321)
  await client.store(o)
  const nonce = await client.nonce()
  const { ticket } = await client.grantFetch({ nonce, objectIds: [o.objectId], proof: await prove([o.objectId], nonce, nodeId, 'fetch') })
  for (let round = 0; round < 3; round++) {
    // A client that reads the first bytes of the whole object and goes away.
    const gone = new AbortController()
    const cut = await request(`${server.url()}/v1/objects/${toHex(o.objectId)}`, { headers: { 'quloud-ticket': toHex(ticket) }, dispatcher: insecure, signal: gone.signal })
    t.is(cut.statusCode, 200)
    await new Promise<void>((resolve) => {
      cut.body.once('data', () => resolve())
    })
    gone.abort()
    await cut.body.text().catch(() => {})
  }
  const ranges = Array.from({ length: 8 }, (_, i) => ({ offset: i * 600_001, length: 1_500_000 + i * 13 }))
  const got = await Promise.all([...ranges.map((r) => client.fetch(o.objectId, ticket, r)), client.fetch(o.objectId, ticket)])
  ranges.forEach((r, i) => t.true(Buffer.from(got[i] as Uint8Array).equals(o.bytes.subarray(r.offset, r.offset + r.length)), `range ${i}`))
  t.true(Buffer.from(got[8] as Uint8Array).equals(o.bytes), 'the whole object')
})

test('a streamed body goes out from one reused buffer and arrives whole; a short or mis-hashed one stores nothing', async (t) => {
  const server = await storageNode(t, 12)
  const client = composePeerClient(server.url(), owner)
  t.teardown(() => client.close())
  const ann = await client.announcement()
  await client.putOwnerKey(vkBytes)
  const o = object(4, 12 * 1024 * 1024 + 777)
  // Every piece is written into the same buffer: were any piece still queued when the next is
  // asked for, the peer would get the wrong bytes and refuse the signature or the Merkle root.
  const piece = new Uint8Array(1024 * 1024)
  let asked = 0
  const streamed = (bytes: Uint8Array, length = bytes.length, sha256 = sodium.sha256(bytes)) => ({
    length,
    sha256,
    async *pieces() {
      for (let at = 0; at < bytes.length; at += piece.length) {
        const n = Math.min(piece.length, bytes.length - at)
        piece.set(bytes.subarray(at, at + n))
        asked++
        yield piece.subarray(0, n)
      }
    },
  })
  const receipt = await client.store({ ...o, bytes: streamed(o.bytes) })
  t.is(receipt.sizeBytes, o.bytes.length)
  t.is(asked, 13)
  const nonce = await client.nonce()
  const { ticket } = await client.grantFetch({ nonce, objectIds: [o.objectId], proof: await prove([o.objectId], nonce, ann.nodeId, 'fetch') })
  t.is(toHex(sodium.sha256(await client.fetch(o.objectId, ticket))), toHex(sodium.sha256(o.bytes)))

  const short = object(5, 3 * 1024 * 1024)
  await t.throwsAsync(client.store({ ...short, bytes: streamed(short.bytes, short.bytes.length + 1) }), { name: 'InvariantError', message: /gave 3145728 of its 3145729 bytes/ })
  await t.throwsAsync(client.store({ ...short, bytes: streamed(short.bytes, short.bytes.length, sodium.sha256(o.bytes)) }), { code: 'SIGNATURE_INVALID' })
  await t.throwsAsync(client.audit(short.objectId, [0]), { code: 'OBJECT_MISSING' })
})

test('proofs are single-use, bound to the action and the node, and only the owner can make them', async (t) => {
  const a = await storageNode(t, 20)
  const b = await storageNode(t, 21)
  const ca = composePeerClient(a.url(), owner)
  const cb = composePeerClient(b.url(), owner)
  t.teardown(async () => {
    await ca.close()
    await cb.close()
  })
  const o = object(22, 50_000)
  for (const c of [ca, cb]) {
    await c.putOwnerKey(vkBytes)
    await c.store(o)
  }
  const aId = (await ca.announcement()).nodeId
  const n1 = await ca.nonce()
  const fetchProof = await prove([o.objectId], n1, aId, 'fetch')
  await ca.grantFetch({ nonce: n1, objectIds: [o.objectId], proof: fetchProof })
  await t.throwsAsync(ca.grantFetch({ nonce: n1, objectIds: [o.objectId], proof: fetchProof }), { code: 'NONCE_INVALID' }, 'replayed')
  const n2 = await ca.nonce()
  const fetch2 = await prove([o.objectId], n2, aId, 'fetch')
  await t.throwsAsync(ca.delete({ nonce: n2, objectIds: [o.objectId], proof: fetch2 }), { code: 'PROOF_REJECTED' }, 'a fetch proof is no delete proof')
  const nb = await cb.nonce()
  await t.throwsAsync(cb.grantFetch({ nonce: nb, objectIds: [o.objectId], proof: await prove([o.objectId], nb, aId, 'fetch') }), { code: 'PROOF_REJECTED' }, 'a proof for node A fails at node B')
  const n3 = await ca.nonce()
  await t.throwsAsync(prove([o.objectId], n3, aId, 'delete', deriveShareKeys(sodium, sampleBytes(99, 32)).proofKey), { code: 'PROOF_REJECTED' }, 'a wrong proofKey cannot produce a proof')
  const n5 = await ca.nonce()
  const forged = { ...fetchProof, pi_a: [fetchProof.pi_a[1], fetchProof.pi_a[0], '1'] as [string, string, string] }
  await t.throwsAsync(ca.grantFetch({ nonce: n5, objectIds: [o.objectId], proof: forged }), { code: 'PROOF_REJECTED' }, 'a forged proof')
  const n6 = await ca.nonce()
  await t.throwsAsync(ca.grantFetch({ nonce: n6, objectIds: [o.objectId], proof: { ...fetchProof, pi_c: ['1', '2'] } as never }), { code: 'INPUT_INVALID' }, 'a malformed proof')
  const n4 = await ca.nonce()
  await t.throwsAsync(ca.grantFetch({ nonce: n4, objectIds: [asPackId(sampleBytes(98, 32))], proof: fetchProof }), { code: 'OBJECT_MISSING' })
  await t.throwsAsync(ca.grantFetch({ nonce: n4, objectIds: [o.objectId], proof: fetchProof }), { code: 'NONCE_INVALID' }, 'an unknown object still spends the nonce')
  t.is((await ca.audit(o.objectId, [0])).proofs.length, 1, 'the object is still there')
})

test('a server presenting another certificate is refused before anything is sent', async (t) => {
  const server = await storageNode(t, 30)
  const pinnedElsewhere = composePeerClient(server.url(), owner, { pinnedCertSha256: sampleBytes(31, 32) })
  t.teardown(() => pinnedElsewhere.close())
  await t.throwsAsync(pinnedElsewhere.announcement(), { code: 'SIGNATURE_INVALID' })
  const wrongNode = composePeerClient(server.url(), owner, { expectNodeId: identityFromSeed(sodium, sampleBytes(32, 32)).nodeId })
  t.teardown(() => wrongNode.close())
  await t.throwsAsync(wrongNode.announcement(), { code: 'SIGNATURE_INVALID', message: /not the expected/ })
  const tls = await new Promise<string>((resolve) => {
    const s = connect({ host: '127.0.0.1', port: Number(new URL(server.url()).port), rejectUnauthorized: false }, () => {
      resolve(s.getProtocol() ?? '')
      s.end()
    })
  })
  t.is(tls, 'TLSv1.3')
})

test('bad input gets its documented error, the node stays up and nothing stored changes', async (t) => {
  const server = await storageNode(t, 40, { maxObjectBytes: 200_000, perSenderBytes: 250_000 })
  const url = server.url()
  const client = composePeerClient(url, owner)
  t.teardown(() => client.close())
  await client.putOwnerKey(vkBytes)
  const kept = object(41, 100_000)
  await client.store(kept)

  const put = (o: ReturnType<typeof object>, headers: Record<string, string>) => raw(url, 'PUT', `/v1/objects/${toHex(o.objectId)}`, o.bytes, { 'quloud-owner': toHex(o.ownerNodeId), 'quloud-commitment': o.commitment, 'quloud-merkle-root': toHex(o.merkleRoot), 'quloud-owner-key-sha256': toHex(o.ownerKeySha256), ...headers })
  const o = object(42, 10_000)
  const signed = (body: Uint8Array, path: string, timeMs = Date.now(), method = 'PUT') => signRequest(sodium, owner, method, path, body, timeMs)
  t.is((await put(o, {})).error, 'SIGNATURE_INVALID', 'unsigned')
  t.is((await put(o, signed(sampleBytes(1, 5), `/v1/objects/${toHex(o.objectId)}`))).error, 'SIGNATURE_INVALID', 'signed for another body')
  t.is((await put(o, signed(o.bytes, `/v1/objects/${toHex(o.objectId)}`, Date.now() - 3600_000))).error, 'SIGNATURE_INVALID', 'stale')
  t.is((await put(o, { ...signed(o.bytes, `/v1/objects/${toHex(o.objectId)}`), 'quloud-merkle-root': toHex(sampleBytes(2, 32)) })).error, 'OBJECT_CORRUPT', 'root does not match the bytes')
  t.is((await put({ ...o, ownerKeySha256: sampleBytes(3, 32) }, signed(o.bytes, `/v1/objects/${toHex(o.objectId)}`))).error, 'OWNER_KEY_MISMATCH')
  const big = object(43, 200_001)
  t.is((await put(big, signed(big.bytes, `/v1/objects/${toHex(big.objectId)}`))).error, 'BODY_TOO_LARGE')
  await t.throwsAsync(client.store(object(44, 199_000)), { code: 'QUOTA_EXCEEDED' })
  t.is((await raw(url, 'POST', '/v1/fetch-grants', new TextEncoder().encode('{"nonce":'), { 'content-type': 'application/json' })).error, 'INPUT_INVALID', 'truncated JSON')
  t.is((await raw(url, 'POST', '/v1/fetch-grants', new TextEncoder().encode('{"nonce":"00","objectIds":[],"proof":{},"extra":1}'))).error, 'INPUT_INVALID', 'unknown field')
  t.is((await raw(url, 'POST', '/v1/delete', new TextEncoder().encode('[1,2]'))).error, 'INPUT_INVALID')
  t.is((await raw(url, 'GET', `/v1/objects/${toHex(kept.objectId)}`, undefined, { 'quloud-ticket': toHex(sampleBytes(4, 32)) })).error, 'PROOF_REJECTED', 'made-up ticket')
  t.is((await raw(url, 'GET', '/v1/objects/xyz', undefined, { 'quloud-ticket': toHex(sampleBytes(4, 32)) })).error, 'INPUT_INVALID')
  t.is((await raw(url, 'GET', '/v1/nowhere')).status, 404)
  const audit = async (body: unknown) => {
    const bytes = new TextEncoder().encode(JSON.stringify(body))
    return (await raw(url, 'POST', '/v1/audit', bytes, signed(bytes, '/v1/audit', Date.now(), 'POST'))).error
  }
  t.is(await audit({ objects: [{ objectId: toHex(kept.objectId), leafIndices: [0], seed: toHex(sampleBytes(5, 32)), count: 2 }] }), 'INPUT_INVALID', 'both indices and a seed')
  t.is(await audit({ objects: [{ objectId: toHex(kept.objectId), seed: toHex(sampleBytes(5, 32)), count: 65 }] }), 'INPUT_INVALID', 'too many leaves')
  t.is(await audit({ objects: [{ objectId: toHex(kept.objectId), leafIndices: [25] }] }), 'INPUT_INVALID', 'a leaf outside the object')
  t.is(await audit({ objects: [{ objectId: toHex(sampleBytes(6, 32)), leafIndices: [0] }] }), 'OBJECT_MISSING')
  const strangerBody = new TextEncoder().encode(JSON.stringify({ objects: [{ objectId: toHex(kept.objectId), leafIndices: [0] }] }))
  const stranger = identityFromSeed(sodium, sampleBytes(7, 32))
  t.is((await raw(url, 'POST', '/v1/audit', strangerBody, signRequest(sodium, stranger, 'POST', '/v1/audit', strangerBody, Date.now()))).error, 'OBJECT_MISSING', 'not the owner or sender: told nothing')
  // A body that stops before its Content-Length: the request is cut off, the node carries on.
  await new Promise<void>((resolve) => {
    const s = connect({ host: '127.0.0.1', port: Number(new URL(url).port), rejectUnauthorized: false }, () => {
      s.write(`POST /v1/delete HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"nonce"`)
      setTimeout(() => {
        s.destroy()
        resolve()
      }, 200)
    })
  })
  const still = await client.announcement()
  t.is(toHex(still.nodeId), toHex(server.handler.nodeId), 'the node is up')
  t.is(server.storage.usage().usedBytes, kept.bytes.length, 'nothing else was stored')
  const n = await client.nonce()
  const { ticket } = await client.grantFetch({ nonce: n, objectIds: [kept.objectId], proof: await prove([kept.objectId], n, still.nodeId, 'fetch') })
  t.is(toHex(sodium.sha256(await client.fetch(kept.objectId, ticket))), toHex(sodium.sha256(kept.bytes)), 'the stored object is unchanged')
})

test('object bodies read into reused memory never mix: stores cut off, refused, concurrent and in turn all read back exactly', async (t) => {
  const server = await storageNode(t, 45)
  const url = server.url()
  const client = composePeerClient(url, owner)
  t.teardown(() => client.close())
  await client.putOwnerKey(vkBytes)
  const path = (o: ReturnType<typeof object>) => `/v1/objects/${toHex(o.objectId)}`
  const headers = (o: ReturnType<typeof object>) => ({ 'quloud-owner': toHex(o.ownerNodeId), 'quloud-commitment': o.commitment, 'quloud-merkle-root': toHex(o.merkleRoot), 'quloud-owner-key-sha256': toHex(o.ownerKeySha256) })

  // Cut off after 1 MiB of 3 MiB: its pooled buffer goes back half written.
  const cut = object(46, 3 * 1024 * 1024)
  await new Promise<void>((resolve) => {
    const s = connect({ host: '127.0.0.1', port: Number(new URL(url).port), rejectUnauthorized: false }, () => {
      const h = { ...headers(cut), ...signRequest(sodium, owner, 'PUT', path(cut), cut.bytes, Date.now()) }
      s.write(`PUT ${path(cut)} HTTP/1.1\r\nHost: x\r\nContent-Length: ${cut.bytes.length}\r\n${Object.entries(h).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`)
      s.write(cut.bytes.subarray(0, 1024 * 1024), () => setTimeout(() => (s.destroy(), resolve()), 200))
    })
  })
  // Read whole, then refused: the root sent does not match.
  const refused = object(47, 2 * 1024 * 1024)
  t.is((await raw(url, 'PUT', path(refused), refused.bytes, { ...headers(refused), 'quloud-merkle-root': toHex(sampleBytes(48, 32)), ...signRequest(sodium, owner, 'PUT', path(refused), refused.bytes, Date.now()) })).error, 'OBJECT_CORRUPT')

  const sizes = [2 * 1024 * 1024 + 1, 1024 * 1024, 3 * 1024 * 1024 - 7, 500 * 1024, 2 * 1024 * 1024, 64 * 1024, 3 * 1024 * 1024, 17]
  const objects = sizes.map((size, i) => object(60 + i, size))
  await Promise.all(objects.slice(0, 5).map((o) => client.store(o)))
  for (const o of objects.slice(5)) await client.store(o)

  const ann = await client.announcement()
  const ids = objects.map((o) => o.objectId)
  const nonce = await client.nonce()
  const { ticket } = await client.grantFetch({ nonce, objectIds: ids, proof: await prove(ids, nonce, ann.nodeId, 'fetch') })
  for (const o of objects) {
    const back = await client.fetch(o.objectId, ticket)
    t.is(back.length, o.bytes.length)
    t.is(toHex(sodium.sha256(back)), toHex(sodium.sha256(o.bytes)), `object of ${o.bytes.length} bytes reads back exactly`)
  }
  t.is(server.storage.usage().usedBytes, sizes.reduce((a, b) => a + b, 0), 'the cut-off and the refused object were not kept')
})

test('share pointers: signed by the locator, only ever newer; public blobs: signed, named by their hash, readable by anyone', async (t) => {
  const server = await storageNode(t, 50, {})
  const client = composePeerClient(server.url(), owner)
  const stranger = composePeerClient(server.url(), identityFromSeed(sodium, sampleBytes(51, 32)))
  t.teardown(async () => {
    await client.close()
    await stranger.close()
  })
  const locator = sodium.signKeyPairFromSeed(sampleBytes(52, 32))
  await t.throwsAsync(client.getPointer(locator.publicKey), { code: 'OBJECT_MISSING' })
  await client.putPointer(signPointer(sodium, locator.secretKey, locator.publicKey, 2, sampleBytes(53, 200)))
  t.deepEqual((await stranger.getPointer(locator.publicKey)).value, sampleBytes(53, 200))
  await t.throwsAsync(client.putPointer(signPointer(sodium, locator.secretKey, locator.publicKey, 1, sampleBytes(54, 200))), { code: 'POINTER_STALE' }, 'rollback')
  await t.throwsAsync(client.putPointer(signPointer(sodium, locator.secretKey, locator.publicKey, 2, sampleBytes(55, 200))), { code: 'POINTER_STALE' }, 'same sequence, other value')
  const forger = sodium.signKeyPairFromSeed(sampleBytes(56, 32))
  await t.throwsAsync(client.putPointer({ ...signPointer(sodium, forger.secretKey, forger.publicKey, 9, sampleBytes(57, 10)), locator: locator.publicKey }), { code: 'SIGNATURE_INVALID' })
  await client.putPointer(signPointer(sodium, locator.secretKey, locator.publicKey, 3, sampleBytes(58, 100)))
  t.is((await stranger.getPointer(locator.publicKey)).seq, 3)

  const blob = vkBytes
  const sha = sodium.sha256(blob)
  await client.putBlob(locator.publicKey, signBlob(sodium, locator.secretKey, locator.publicKey, sha, blob.length), blob)
  t.deepEqual(await stranger.getBlob(locator.publicKey, sha), blob, 'readable without proof')
  await t.throwsAsync(client.putBlob(locator.publicKey, signBlob(sodium, forger.secretKey, locator.publicKey, sodium.sha256(sampleBytes(59, 10)), 10), sampleBytes(59, 10)), { code: 'SIGNATURE_INVALID' })
  const wrongHash = await raw(server.url(), 'PUT', `/v1/blobs/${toHex(locator.publicKey)}/${toHex(sodium.sha256(sampleBytes(60, 5)))}`, sampleBytes(61, 5), { 'quloud-locator-signature': Buffer.from(signBlob(sodium, locator.secretKey, locator.publicKey, sodium.sha256(sampleBytes(60, 5)), 5)).toString('base64') })
  t.is(wrongHash.error, 'INPUT_INVALID')
  await t.throwsAsync(stranger.getBlob(locator.publicKey, sodium.sha256(sampleBytes(62, 5))), { code: 'OBJECT_MISSING' })
})

test('peer exchange: a node learns verified announcements and passes them on', async (t) => {
  const a = await storageNode(t, 70)
  const b = await storageNode(t, 71)
  const toA = composePeerClient(a.url(), owner)
  const toB = composePeerClient(b.url(), owner)
  t.teardown(async () => {
    await toA.close()
    await toB.close()
  })
  t.deepEqual(await toA.peers(), [])
  await toA.announce(await toB.announcement())
  const known = await toA.peers()
  t.deepEqual(known.map((p) => toHex(p.nodeId)), [toHex(b.handler.nodeId)])
  t.deepEqual(known[0]?.addresses, [b.url()])
  const forged = { ...announcementToJson(await toB.announcement()), capacityBytes: 1 }
  t.is((await raw(a.url(), 'POST', '/v1/peers', new TextEncoder().encode(JSON.stringify(forged)))).error, 'SIGNATURE_INVALID')
  t.is((await raw(a.url(), 'POST', '/v1/peers', new TextEncoder().encode(JSON.stringify(announcementToJson(await toA.announcement()))))).error, 'INPUT_INVALID', 'its own announcement')
  t.is((await toA.peers()).length, 1)
})

/** The owner's peer pool over a real SQLite index; `wrap` may watch each client it makes. */
async function ownerPool(t: Parameters<typeof tempDir>[0], wrap: (client: PeerClient) => PeerClient = (c) => c) {
  const dir = await tempDir(t)
  const index = new SqliteIndexStore(join(dir, 'index.sqlite'))
  await index.open()
  t.teardown(() => index.close())
  const clock = new SystemClock()
  return { clock, pool: new PeerPool({ index, connect: (url, o) => wrap(new HttpsPeerClient(url, { sodium, clock, ...o })), identity: owner, clock }) }
}

/** One storage node per seed, each holding every object, and the owner's pool that knows them. */
async function peersHolding(t: Parameters<typeof tempDir>[0], seeds: number[], objects: Array<ReturnType<typeof object>>, wrap?: (client: PeerClient) => PeerClient) {
  const nodes = await Promise.all(seeds.map((seed) => storageNode(t, seed)))
  const { pool, clock } = await ownerPool(t, wrap)
  const peers: PeerRef[] = []
  for (const n of nodes) {
    const record = await pool.add(n.url())
    await pool.ensureOwnerKey(record, vkBytes)
    peers.push(pool.ref(record))
    for (const o of objects) await pool.client(record).store(o)
  }
  return { pool, clock, peers }
}

test('a restore reads packs from every peer that holds them, with as few proofs as from one peer', async (t) => {
  const objects = Array.from({ length: 2 * OWNERSHIP_BATCH + 8 }, (_, i) => object(600 + i, 5000 + 7 * i))
  const { pool, clock, peers } = await peersHolding(t, [21, 22, 23], objects)
  let proofs = 0
  const counting = { prove: (input: Parameters<typeof prover.prove>[0]) => (proofs++, prover.prove(input)), close: async () => {} }
  // Every peer holds every pack, listed in the same order for each, as the index lists replicas.
  const fetcher = new ChunkFetcher({ sodium, pool, poseidon, prover: async () => counting, clock, log }, shareKeys, () => peers)
  fetcher.want(objects.map((o) => o.objectId))
  const got = await Promise.all(objects.map((o) => fetcher.range(o.objectId, 100, 64)))
  got.forEach((bytes, i) => t.deepEqual(bytes, (objects[i] as (typeof objects)[number]).bytes.subarray(100, 164)))
  const perPeer = new Map<string, number>()
  for (const o of objects) {
    const hex = toHex((fetcher.servedBy.get(toHex(o.objectId)) as PeerRef).nodeId)
    perPeer.set(hex, (perPeer.get(hex) ?? 0) + 1)
  }
  t.deepEqual([...perPeer.values()].sort((a, b) => a - b), [8, OWNERSHIP_BATCH, OWNERSHIP_BATCH], 'one full grant batch at each of two peers, the rest at the third')
  t.is(proofs, 3, 'one proof per batch: no more than reading everything from one peer')
  t.is(fetcher.bytesFetched, objects.length * 64)
  // The order a restore reads them in alternates between the peers, each peer's packs spread
  // evenly over all of it: the peer with 8 packs is not done after the first 24.
  const order = fetcher.interleave(objects.map((o) => o.objectId)).map((id) => toHex(id))
  t.deepEqual([...order].sort(), objects.map((o) => toHex(o.objectId)).sort())
  const peerOf = (hex: string) => toHex((fetcher.servedBy.get(hex) as PeerRef).nodeId)
  t.is(new Set(order.slice(0, 3).map(peerOf)).size, 3)
  for (const part of [order.slice(0, 20), order.slice(20)]) {
    const count = new Map<string, number>()
    for (const hex of part) count.set(peerOf(hex), (count.get(peerOf(hex)) ?? 0) + 1)
    t.deepEqual([...count.values()].sort((a, b) => a - b), [4, OWNERSHIP_BATCH / 2, OWNERSHIP_BATCH / 2], 'each half of the order has half of every peer\'s packs')
  }
  // A range can be read into the caller's memory (reused buffers), which must be its exact size.
  const first = objects[0] as (typeof objects)[number]
  const into = new Uint8Array(1000).fill(0xa5)
  t.is(await fetcher.range(first.objectId, 10, 1000, into), into)
  t.deepEqual(into, first.bytes.subarray(10, 1010))
  await t.throwsAsync(pool.client(peers[0] as PeerRef).fetch(first.objectId, new Uint8Array(32), { offset: 0, length: 10, into: new Uint8Array(11) }), { code: 'INPUT_INVALID' })
})

test('packs named as likely at the start share the first grant: the root manifest and the data after it need one proof, not two', async (t) => {
  const node = await storageNode(t, 24)
  const { pool, clock } = await ownerPool(t)
  const record = await pool.add(node.url())
  await pool.ensureOwnerKey(record, vkBytes)
  const objects = Array.from({ length: OWNERSHIP_BATCH }, (_, i) => object(700 + i, 3000 + 5 * i))
  for (const o of objects) await pool.client(record).store(o)
  const [root, ...data] = objects as [(typeof objects)[number], ...typeof objects]
  const restore = async (likely: PackId[]) => {
    let proofs = 0
    const counting = { prove: (input: Parameters<typeof prover.prove>[0]) => (proofs++, prover.prove(input)), close: async () => {} }
    const fetcher = new ChunkFetcher({ sodium, pool, poseidon, prover: async () => counting, clock, log }, shareKeys, () => [pool.ref(record)], likely)
    // As a restore does: the root manifest first, then what it names.
    fetcher.want([root.objectId])
    t.deepEqual(await fetcher.range(root.objectId, 0, 32), root.bytes.subarray(0, 32))
    fetcher.want(data.map((o) => o.objectId))
    for (const o of data) t.deepEqual(await fetcher.range(o.objectId, 7, 9), o.bytes.subarray(7, 16))
    return proofs
  }
  t.is(await restore([]), 2, 'without hints the root manifest is granted alone')
  t.is(await restore(objects.map((o) => o.objectId).reverse()), 1)
})

test('a whole-share restore asks every peer for its first grant as soon as the root manifest is read, and needs no proof more', async (t) => {
  const objects = Array.from({ length: 3 * OWNERSHIP_BATCH }, (_, i) => object(800 + i, 2000 + 3 * i))
  const { pool, clock, peers } = await peersHolding(t, [25, 26, 27], objects)
  const provedFor: string[] = []
  const counting = { prove: (input: Parameters<typeof prover.prove>[0]) => (provedFor.push(input.nodeId), prover.prove(input)), close: async () => {} }
  const ids = objects.map((o) => o.objectId)
  const fetcher = new ChunkFetcher({ sodium, pool, poseidon, prover: async () => counting, clock, log }, shareKeys, () => peers, ids)
  const [root] = objects as [(typeof objects)[number]]
  t.deepEqual(await fetcher.range(root.objectId, 0, 32), root.bytes.subarray(0, 32))
  t.is(provedFor.length, 1, 'the root manifest\'s grant')
  fetcher.grantAhead()
  fetcher.grantAhead() // a grant on its way is not asked for twice
  for (const deadline = Date.now() + 60_000; provedFor.length < 3 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20))
  t.is(new Set(provedFor).size, 3, 'one grant at each peer, before any of their packs is read')
  fetcher.want(ids)
  const got = await Promise.all(objects.map((o) => fetcher.range(o.objectId, 5, 11)))
  got.forEach((bytes, i) => t.deepEqual(bytes, (objects[i] as (typeof objects)[number]).bytes.subarray(5, 16)))
  t.is(provedFor.length, 3, 'the early grants cover every pack read')
  const perPeer = new Map<string, number>()
  for (const o of objects) {
    const hex = toHex((fetcher.servedBy.get(toHex(o.objectId)) as PeerRef).nodeId)
    perPeer.set(hex, (perPeer.get(hex) ?? 0) + 1)
  }
  t.deepEqual([...perPeer.values()], [OWNERSHIP_BATCH, OWNERSHIP_BATCH, OWNERSHIP_BATCH])
})

test('ready(): a pack is ready once its peer\'s grant is held; a peer that cannot be reached is tried once for all its packs, then skipped for the next', async (t) => {
  const objects = Array.from({ length: 20 }, (_, i) => object(900 + i, 1000 + i))
  // Nonces asked of the peer that goes away (each grant asks for one first).
  let goneUrl = ''
  let asked = 0
  const watch = (c: PeerClient) => intercept(c, (prop, target) => (prop === 'nonce' && target.url === goneUrl ? () => (asked++, target.nonce()) : undefined))
  const { pool, clock, peers } = await peersHolding(t, [28, 29], objects, watch)
  const [gone, live] = peers as [PeerRef, PeerRef]
  goneUrl = gone.url
  // The first peer goes away; on its port now, something that takes connections and drops them.
  await (servers.find((s) => s.url() === gone.url) as ComposedPeerServer).close()
  const dropping = createServer((socket) => socket.destroy())
  await new Promise<void>((resolve) => dropping.listen(Number(new URL(gone.url).port), '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => dropping.close(() => resolve())))
  const provedFor: string[] = []
  const counting = { prove: (input: Parameters<typeof prover.prove>[0]) => (provedFor.push(input.nodeId), prover.prove(input)), close: async () => {} }
  // Every pack is assigned first to the peer that is gone.
  const fetcher = new ChunkFetcher({ sodium, pool, poseidon, prover: async () => counting, clock, log }, shareKeys, () => [gone, live])
  fetcher.want(objects.map((o) => o.objectId))
  await Promise.all(objects.map((o) => fetcher.ready(o.objectId)))
  t.is(asked, 1, 'the peer that is gone was asked once for all its packs')
  t.true(provedFor.every((id) => id === idToField(live.nodeId).toString()), 'nothing proved for the peer that is gone: its nonce request failed')
  const got = await Promise.all(objects.map((o) => fetcher.range(o.objectId, 3, 5)))
  got.forEach((bytes, i) => t.deepEqual(bytes, (objects[i] as (typeof objects)[number]).bytes.subarray(3, 8)))
  t.true(objects.every((o) => toHex((fetcher.servedBy.get(toHex(o.objectId)) as PeerRef).nodeId) === toHex(live.nodeId)))
  t.is(provedFor.length, 2, 'its packs went to the live peer in full batches: 20 packs, two proofs')
  t.is(asked, 1, 'and not again')
  // At a live peer, ready() resolves with the ticket held: the read then needs no proof.
  const again = new ChunkFetcher({ sodium, pool, poseidon, prover: async () => counting, clock, log }, shareKeys, () => [live])
  const [first] = objects as [(typeof objects)[number]]
  await again.ready(first.objectId)
  t.is(provedFor.length, 3)
  t.deepEqual(await again.range(first.objectId, 0, 4), first.bytes.subarray(0, 4))
  t.is(provedFor.length, 3)
})

test('ready() for many packs of one peer at once: each waits for the grants before its own, however many, and every pack gets its ticket with one proof per 16', async (t) => {
  const objects = Array.from({ length: 4 * OWNERSHIP_BATCH - 4 }, (_, i) => object(950 + i, 500 + i))
  const { pool, clock, peers } = await peersHolding(t, [31], objects)
  let proofs = 0
  const counting = { prove: (input: Parameters<typeof prover.prove>[0]) => (proofs++, prover.prove(input)), close: async () => {} }
  const fetcher = new ChunkFetcher({ sodium, pool, poseidon, prover: async () => counting, clock, log }, shareKeys, () => peers)
  fetcher.want(objects.map((o) => o.objectId))
  await Promise.all(objects.map((o) => fetcher.ready(o.objectId)))
  t.is(proofs, 4, 'the last packs waited for three grants before theirs and still got one')
  const got = await Promise.all(objects.map((o) => fetcher.range(o.objectId, 1, 3)))
  got.forEach((bytes, i) => t.deepEqual(bytes, (objects[i] as (typeof objects)[number]).bytes.subarray(1, 4)))
  t.is(proofs, 4, 'no read needed another proof')
})

test('the prover loads while the first nonce is asked for; a prover that fails to load fails the read with its error, and nothing is left unhandled', async (t) => {
  const objects = [object(990, 4000)]
  const events: string[] = []
  const watch = (c: PeerClient) => intercept(c, (prop, target) => (prop === 'nonce' ? async () => (events.push('nonce asked'), await target.nonce().finally(() => events.push('nonce answered'))) : undefined))
  const { pool, clock, peers } = await peersHolding(t, [32], objects, watch)
  const [only] = objects as [(typeof objects)[number]]
  const loading = async () => (events.push('prover asked'), prover)
  const fetcher = new ChunkFetcher({ sodium, pool, poseidon, prover: loading, clock, log }, shareKeys, () => peers)
  t.deepEqual(await fetcher.range(only.objectId, 0, 16), only.bytes.subarray(0, 16))
  t.deepEqual(events, ['prover asked', 'nonce asked', 'nonce answered'])
  // The prover cannot load: the read fails with that error, after the nonce request (the peer is
  // not to blame, and no rejection is left without a handler while the nonce is awaited).
  const unhandled: unknown[] = []
  const onUnhandled = (err: unknown) => unhandled.push(err)
  process.on('unhandledRejection', onUnhandled)
  t.teardown(() => process.off('unhandledRejection', onUnhandled))
  const broken = new ChunkFetcher({ sodium, pool, poseidon, prover: () => Promise.reject(new BackupError('NOT_FOUND', "the share owner's proving key on any reachable peer")), clock, log }, shareKeys, () => peers)
  await t.throwsAsync(broken.range(only.objectId, 0, 16), { code: 'NOT_FOUND' })
  await new Promise((r) => setTimeout(r, 50))
  t.deepEqual(unhandled, [])
})

test('leases: one signed message renews all of an owner\'s objects; unknown owners and unsigned requests are refused', async (t) => {
  const server = await storageNode(t, 30)
  const client = composePeerClient(server.url(), owner)
  t.teardown(() => client.close())
  const stranger = composePeerClient(server.url(), identityFromSeed(sodium, sampleBytes(31, 32)))
  t.teardown(() => stranger.close())
  await t.throwsAsync(stranger.renewLease(), { code: 'OBJECT_MISSING' })
  await client.putOwnerKey(vkBytes)
  await client.store(object(32, 5000))
  const before = server.storage.leaseOf(owner.nodeId) as number
  const lease = await client.renewLease()
  t.true(lease.renewedAtMs >= before)
  t.is(lease.expiresAtMs - lease.renewedAtMs, 90 * 24 * 3600_000)
  t.is(server.storage.leaseOf(owner.nodeId), lease.renewedAtMs)
  t.is((await raw(server.url(), 'POST', '/v1/lease')).error, 'SIGNATURE_INVALID')
})

test('a flood from one address is slowed down, and a body that trickles in is cut off', async (t) => {
  const server = await storageNode(t, 80, {}, 1500)
  let dripped = 1
  const closed = await new Promise<string>((resolve) => {
    let answer = ''
    const s = connect({ host: '127.0.0.1', port: Number(new URL(server.url()).port), rejectUnauthorized: false }, () => {
      s.write('PUT /v1/owner-key HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n{')
      const drip = setInterval(() => s.write(' ', () => dripped++), 200)
      s.on('data', (d) => (answer += d))
      // The server answers 408 and ends the connection: a drip racing that end is refused
      // locally ("ended by the other party"), which is the point, not a failure of the test.
      s.on('end', () => clearInterval(drip))
      s.on('error', () => clearInterval(drip))
      s.on('close', () => {
        clearInterval(drip)
        resolve(answer)
      })
    })
  })
  // Cut off with 408 long before the 5000 bytes (a byte per 200 ms) could arrive. Not timed: the
  // other tests of this file keep the event loop busy for seconds at a time.
  t.regex(closed.split('\r\n')[0] ?? '', /^HTTP\/1\.1 408/)
  t.true(dripped < 5000, 'the body never completed')
  // A few kept-alive connections, so the flood is requests, not TLS handshakes.
  const pooled = new Agent({ connect: { rejectUnauthorized: false }, connections: 4 })
  t.teardown(() => pooled.close())
  const statuses = await Promise.all(
    Array.from({ length: 1000 }, async () => {
      const res = await request(`${server.url()}/v1/announcement`, { dispatcher: pooled })
      const text = await res.body.text()
      return { status: res.statusCode, error: res.statusCode >= 400 ? JSON.parse(text).error.code : undefined }
    }),
  )
  t.true(statuses.some((s) => s.error === 'RATE_LIMITED'), 'some requests are refused with 429')
  t.true(statuses.filter((s) => s.status === 200).length >= 150, 'the burst allowance is served')
  await new Promise((r) => setTimeout(r, 1100))
  t.is((await raw(server.url(), 'GET', '/v1/announcement')).status, 200, 'the node is still up')
})

test('the client gives up on a peer that accepts connections but never answers (PEER_UNREACHABLE)', async (t) => {
  const { createServer } = await import('node:net')
  const sockets: import('node:net').Socket[] = []
  const silent = createServer((s) => void sockets.push(s))
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()))
  t.teardown(() => {
    for (const s of sockets) s.destroy()
    silent.close()
  })
  const client = composePeerClient(`https://127.0.0.1:${(silent.address() as { port: number }).port}`, owner, { timeoutMs: 300, retries: 1 })
  t.teardown(() => client.close())
  await t.throwsAsync(client.announcement(), { code: 'PEER_UNREACHABLE' })
  // Bounded: the first try and one retry, each given up after its timeout (counted, not timed: the
  // other tests of this file keep the event loop busy for seconds at a time).
  t.is(sockets.length, 2, 'two connections: one try and one retry')
})
