import type { Sodium } from '../core/ports/sodium.js'
import type { Poseidon } from '../core/ports/poseidon.js'
import type { Prover } from '../core/ports/prover.js'
import type { PeerClient, RawPeer } from '../core/ports/peer-client.js'
import { asPackId, type NodeId, type PackId } from '../core/ids.js'
import { isBackupError } from '../core/errors.js'
import { fieldElementFromWideBytes } from '../core/crypto/index.js'
import { commitmentOf, idToField, nonceToField, ownershipInput, type ProofAction } from '../core/proofs/index.js'
import { merkleRoot, sampleLeafIndices, verifyMerkleProof } from '../core/audit/index.js'
import { PROTOCOL_VERSION, signBlob, signPointer, verifyAnnouncement } from '../core/protocol/index.js'
import { bytesEqual, toHex } from '../shared/bytes.js'

export interface ConformanceCheck {
  name: string
  ok: boolean
  detail?: string
}

export interface ConformanceDeps {
  sodium: Sodium
  poseidon: Poseidon
  /** Proves with the throwaway owner's proving key; verificationKey is its pair. */
  prover: Prover
  verificationKey: Uint8Array
  /** A client of the node under test, signing as a throwaway identity. */
  client: PeerClient
  raw: RawPeer
  /** The throwaway identity the client signs as: the objects' owner. */
  ownerNodeId: NodeId
  nowMs: () => number
}

/**
 * `quloud conformance URL`: checks a node against docs/PROTOCOL.md as a throwaway owner, one
 * named check at a time. A check that needs an earlier one that failed fails too, saying so.
 */
export async function runConformance(deps: ConformanceDeps, onCheck: (c: ConformanceCheck) => void = () => {}): Promise<ConformanceCheck[]> {
  const { sodium, client, raw } = deps
  const results: ConformanceCheck[] = []
  const done = new Set<string>()
  const check = async (name: string, needs: string[], fn: () => Promise<void>) => {
    const missing = needs.filter((n) => !done.has(n))
    let result: ConformanceCheck
    if (missing.length > 0) result = { name, ok: false, detail: `not run: needs "${missing.join('", "')}"` }
    else {
      try {
        await fn()
        result = { name, ok: true }
        done.add(name)
      } catch (err) {
        result = { name, ok: false, detail: err instanceof Error ? err.message.slice(0, 300) : String(err) }
      }
    }
    results.push(result)
    onCheck(result)
  }
  const expect = (cond: boolean, what: string) => {
    if (!cond) throw new Error(what)
  }
  const expectCode = async (p: Promise<unknown>, code: string) => {
    try {
      await p
    } catch (err) {
      if (isBackupError(err) && err.code === code) return
      throw new Error(`expected ${code}, got ${err instanceof Error ? err.message : String(err)}`)
    }
    throw new Error(`expected ${code}, but the node accepted it`)
  }
  const expectRaw = async (p: Promise<{ status: number; errorCode: string | null }>, status: number, code: string) => {
    const r = await p
    expect(r.status === status && r.errorCode === code, `expected HTTP ${status} ${code}, got HTTP ${r.status} ${r.errorCode ?? ''}`)
  }
  const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v))

  const proofKey = fieldElementFromWideBytes(sodium.randomBytes(64))
  let nodeId: NodeId = new Uint8Array(32) as NodeId
  const size = 300_000 + (sodium.randomBytes(2)[0] as number)
  const bytes = sodium.randomBytes(size)
  const objectId = asPackId(sodium.randomBytes(32))
  const commitment = commitmentOf(deps.poseidon, proofKey, idToField(objectId)).toString()
  const root = merkleRoot(sodium, bytes)
  const ownerKeySha256 = sodium.sha256(deps.verificationKey)
  const prove = async (ids: PackId[], nonce: Uint8Array, action: ProofAction) =>
    (await deps.prover.prove(ownershipInput(proofKey, ids.map((id) => ({ objectId: idToField(id), commitment: commitmentOf(deps.poseidon, proofKey, idToField(id)) })), { nonce: nonceToField(nonce), nodeId: idToField(nodeId), action }))).proof
  const objectPath = `/v1/objects/${toHex(objectId)}`
  const storeHeaders = (over: Record<string, string> = {}) => ({ 'quloud-owner': toHex(deps.ownerNodeId), 'quloud-commitment': commitment, 'quloud-merkle-root': toHex(root), 'quloud-owner-key-sha256': toHex(ownerKeySha256), ...over })
  let ticket: Uint8Array = new Uint8Array(32)

  await check('announcement: signed by its node id, current, protocol 1, vouching for the TLS certificate served', [], async () => {
    const a = await client.announcement()
    expect(a.protocol === PROTOCOL_VERSION, `protocol ${a.protocol}`)
    nodeId = a.nodeId
  })
  await check('TLS: 1.3 negotiated, 1.2 refused', [], async () => {
    const p = await raw.tlsProbe()
    expect(p.negotiated === 'TLSv1.3', `negotiated ${p.negotiated}`)
    expect(!p.acceptsTls12, 'a TLS 1.2 handshake was accepted')
  })
  await check('peers: a list of valid announcements', ['announcement: signed by its node id, current, protocol 1, vouching for the TLS certificate served'], async () => {
    const r = await raw.request('GET', '/v1/peers')
    expect(r.status === 200, `HTTP ${r.status}`)
    const list = JSON.parse(new TextDecoder().decode(r.body)).peers
    expect(Array.isArray(list), 'no peers list')
    for (const a of list) verifyAnnouncement(sodium, a, deps.nowMs())
  })
  await check('nonces: fresh 31-byte values', [], async () => {
    const [a, b] = [await client.nonce(), await client.nonce()]
    expect(a.length === 31 && !bytesEqual(a, b), 'two nonces were equal')
  })
  const pinned = 'owner key: pinned once, another key refused (OWNER_KEY_MISMATCH)'
  await check(pinned, [], async () => {
    expect(bytesEqual(await client.putOwnerKey(deps.verificationKey), ownerKeySha256), 'wrong hash')
    await expectRaw(raw.request('PUT', '/v1/owner-key', { body: json({ ...JSON.parse(new TextDecoder().decode(deps.verificationKey)), protocol: 'groth16', extra: 1 }), signed: true }), 409, 'OWNER_KEY_MISMATCH')
  })
  await check('store: unsigned, wrongly signed or stale requests refused (SIGNATURE_INVALID)', [pinned], async () => {
    await expectRaw(raw.request('PUT', objectPath, { body: bytes, headers: storeHeaders() }), 401, 'SIGNATURE_INVALID')
    const signedOther = await raw.request('PUT', objectPath, { body: bytes.subarray(1), headers: storeHeaders(), signed: true })
    expect(signedOther.errorCode !== null, 'a store whose Merkle root does not match was accepted')
  })
  await check('store: bytes that do not match their Merkle root refused (OBJECT_CORRUPT)', [pinned], async () => {
    await expectRaw(raw.request('PUT', objectPath, { body: bytes, headers: storeHeaders({ 'quloud-merkle-root': toHex(sodium.randomBytes(32)) }), signed: true }), 502, 'OBJECT_CORRUPT')
  })
  const stored = 'store: a receipt signed for exactly what was sent; storing again is harmless'
  await check(stored, [pinned], async () => {
    const o = { objectId, ownerNodeId: deps.ownerNodeId, commitment, merkleRoot: root, ownerKeySha256, bytes }
    await client.store(o)
    await client.store(o)
  })
  const fetched = 'fetch: a valid proof buys a ticket; the object and a byte range come back exact'
  await check(fetched, [stored], async () => {
    const nonce = await client.nonce()
    ticket = (await client.grantFetch({ nonce, objectIds: [objectId], proof: await prove([objectId], nonce, 'fetch') })).ticket
    expect(bytesEqual(await client.fetch(objectId, ticket), bytes), 'the object differs')
    expect(bytesEqual(await client.fetch(objectId, ticket, { offset: 4097, length: 5000 }), bytes.subarray(4097, 9097)), 'the range differs')
    const r = await raw.request('GET', objectPath, { headers: { 'quloud-ticket': toHex(ticket), range: 'bytes=10-19' } })
    expect(r.status === 206 && bytesEqual(r.body, bytes.subarray(10, 20)), `a range answered HTTP ${r.status}`)
  })
  await check('proofs: a spent nonce is refused (NONCE_INVALID); a fetch proof is no delete proof (PROOF_REJECTED)', [stored], async () => {
    const nonce = await client.nonce()
    const proof = await prove([objectId], nonce, 'fetch')
    await client.grantFetch({ nonce, objectIds: [objectId], proof })
    await expectCode(client.grantFetch({ nonce, objectIds: [objectId], proof }), 'NONCE_INVALID')
    const n2 = await client.nonce()
    await expectCode(client.delete({ nonce: n2, objectIds: [objectId], proof: await prove([objectId], n2, 'fetch') }), 'PROOF_REJECTED')
    await expectRaw(raw.request('GET', objectPath, { headers: { 'quloud-ticket': toHex(sodium.randomBytes(32)) } }), 403, 'PROOF_REJECTED')
  })
  await check('audit: leaves by index and drawn from a seed, with Merkle paths that verify against the root', [stored], async () => {
    const leaves = [0, Math.floor(size / 4096)]
    const a = await client.audit(objectId, leaves)
    expect(a.sizeBytes === size && a.proofs.length === 2, 'wrong answer shape')
    for (const p of a.proofs) expect(verifyMerkleProof(sodium, root, size, p), `leaf ${p.leafIndex} does not verify`)
    const seed = sodium.randomBytes(32)
    const [bySeed] = await client.auditMany([{ objectId, seed, count: 3 }])
    expect(JSON.stringify(bySeed?.proofs.map((p) => p.leafIndex)) === JSON.stringify(sampleLeafIndices(sodium, seed, size, 3)), 'seed-drawn leaves are not the ones the seed names')
    for (const p of bySeed?.proofs ?? []) expect(verifyMerkleProof(sodium, root, size, p), `leaf ${p.leafIndex} does not verify`)
    await expectRaw(raw.request('POST', '/v1/audit', { body: json({ objects: [{ objectId: toHex(sodium.randomBytes(32)), leafIndices: [0] }] }), signed: true }), 404, 'OBJECT_MISSING')
  })
  await check('lease: one signed message renews the owner\'s objects; unsigned renewals refused (SIGNATURE_INVALID)', [stored], async () => {
    const before = deps.nowMs()
    const lease = await client.renewLease()
    expect(lease.expiresAtMs > lease.renewedAtMs && Math.abs(lease.renewedAtMs - before) < 5 * 60_000, 'the lease times are not plausible')
    await expectRaw(raw.request('POST', '/v1/lease'), 401, 'SIGNATURE_INVALID')
  })
  await check('bad input: malformed or truncated JSON and unknown fields (INPUT_INVALID), oversized bodies (BODY_TOO_LARGE), unknown routes (404)', [], async () => {
    await expectRaw(raw.request('POST', '/v1/fetch-grants', { body: new TextEncoder().encode('{"nonce":') }), 400, 'INPUT_INVALID')
    await expectRaw(raw.request('POST', '/v1/delete', { body: json({ nonce: '00', objectIds: [], proof: {}, surplus: true }) }), 400, 'INPUT_INVALID')
    await expectRaw(raw.request('POST', '/v1/fetch-grants', { body: new Uint8Array(65 * 1024 + 1).fill(0x20) }), 413, 'BODY_TOO_LARGE')
    const r = await raw.request('GET', '/v1/no-such-route')
    expect(r.status === 404, `HTTP ${r.status}`)
  })
  await check('pointers: signed by the locator, only newer sequences kept (POINTER_STALE)', [], async () => {
    const loc = sodium.signKeyPairFromSeed(sodium.randomBytes(32))
    await client.putPointer(signPointer(sodium, loc.secretKey, loc.publicKey, 5, sodium.randomBytes(64)))
    await expectCode(client.putPointer(signPointer(sodium, loc.secretKey, loc.publicKey, 4, sodium.randomBytes(64))), 'POINTER_STALE')
    expect((await client.getPointer(loc.publicKey)).seq === 5, 'the pointer moved back')
    const other = sodium.signKeyPairFromSeed(sodium.randomBytes(32))
    await expectCode(client.putPointer({ ...signPointer(sodium, other.secretKey, other.publicKey, 9, sodium.randomBytes(8)), locator: loc.publicKey }), 'SIGNATURE_INVALID')
  })
  await check('public blobs: signed by the locator, read back by hash without proof', [], async () => {
    const loc = sodium.signKeyPairFromSeed(sodium.randomBytes(32))
    const blob = sodium.randomBytes(10_000)
    const sha = await client.putBlob(loc.publicKey, signBlob(sodium, loc.secretKey, loc.publicKey, sodium.sha256(blob), blob.length), blob)
    expect(bytesEqual(await client.getBlob(loc.publicKey, sha), blob), 'the blob differs')
  })
  await check('delete: a valid delete proof removes the object', [fetched], async () => {
    const nonce = await client.nonce()
    const gone = await client.delete({ nonce, objectIds: [objectId], proof: await prove([objectId], nonce, 'delete') })
    expect(gone.length === 1 && bytesEqual(gone[0] as Uint8Array, objectId), 'not reported deleted')
    await expectCode(client.fetch(objectId, ticket), 'PROOF_REJECTED')
  })
  return results
}
