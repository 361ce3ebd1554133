import test, { type ExecutionContext } from 'ava'
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { StorageService, type StoreRequest } from './storage-service.js'
import { SqliteStorageCatalog } from '../../adapters/sqlite/sqlite-storage-catalog.js'
import { FsObjectStore } from '../../adapters/fs/fs-object-store.js'
import { deriveStorageKeys, nodeTag, objectTag } from '../../core/storage/index.js'
import { merkleRoot, verifyMerkleProof } from '../../core/audit/index.js'
import { asNodeId, asPackId } from '../../core/ids.js'
import { toHex } from '../../shared/bytes.js'
import { intercept, sampleBytes, sodium, tempDir, walkFiles } from '../../../test/helpers/index.js'

const clock = { nowMs: () => 1_700_000_000_000 }
const MIB = 1024 * 1024

async function node(t: ExecutionContext, limits: ConstructorParameters<typeof StorageService>[0]['limits'] = {}, at: { nowMs(): number } = clock) {
  const dir = await tempDir(t)
  const catalog = new SqliteStorageCatalog(join(dir, 'storage.sqlite'))
  await catalog.open()
  t.teardown(() => catalog.close())
  const keys = deriveStorageKeys(sodium, sodium.randomBytes(32))
  const service = new StorageService({ sodium, keys, catalog, objects: new FsObjectStore(join(dir, 'objects')), clock: at, limits })
  service.pinOwnerKey(owner, vkBytes)
  return { dir, keys, catalog, service }
}

const owner = asNodeId(sampleBytes(100, 32))
const sender = asNodeId(sampleBytes(101, 32))
/** A verification key's bytes as an owner sends them (the storage layer only pins and hashes them). */
const vkBytes = new TextEncoder().encode(JSON.stringify({ protocol: 'groth16', curve: 'bn128', nPublic: 35, vk_alpha_1: ['1', '2', '1'] }))
const vkHash = sodium.sha256(vkBytes)

function request(seed: number, size: number, over: Partial<StoreRequest> = {}): StoreRequest {
  const bytes = sampleBytes(seed, size)
  return { objectId: asPackId(sampleBytes(seed + 1000, 32)), ownerNodeId: owner, senderNodeId: sender, commitment: String(123456789n * BigInt(seed)), merkleRoot: merkleRoot(sodium, bytes), ownerKeyHash: vkHash, bytes, ...over }
}

test('store, read whole and by range, audit from stored bytes, delete', async (t) => {
  const { service } = await node(t)
  const req = request(1, 3 * MIB + 77)
  const meta = await service.store(req)
  t.is(meta.sizeBytes, req.bytes.length)
  t.is(service.meta(req.objectId)?.commitment, req.commitment)
  t.is(toHex(sodium.sha256(await service.read(req.objectId))), toHex(sodium.sha256(req.bytes)))
  t.deepEqual(await service.read(req.objectId, 65_530, 20), req.bytes.subarray(65_530, 65_550))
  t.deepEqual(await service.read(req.objectId, req.bytes.length - 5), req.bytes.subarray(req.bytes.length - 5))
  const pieces: Uint8Array[] = []
  const buffers = new Set<ArrayBufferLike>()
  for await (const p of service.readStream(req.objectId, 1000)) {
    buffers.add(p.buffer)
    pieces.push(p.slice()) // a piece is valid only until the next is asked for
  }
  t.true(pieces.length >= 3 && pieces.every((p) => p.length <= 1024 * 1024), 'streamed in pieces of at most 1 MiB')
  t.is(buffers.size, 1, 'one reused buffer carries every piece')
  t.is(toHex(sodium.sha256(Buffer.concat(pieces))), toHex(sodium.sha256(req.bytes.subarray(1000))))
  const proofs = await service.audit(req.objectId, [0, 7, 768])
  for (const p of proofs) t.true(verifyMerkleProof(sodium, req.merkleRoot, req.bytes.length, p))
  t.deepEqual(service.usage(sender), { usedBytes: req.bytes.length, capacityBytes: service.limits.capacityBytes, senderBytes: req.bytes.length })
  t.true(await service.delete(req.objectId))
  t.false(await service.delete(req.objectId))
  t.is(service.meta(req.objectId), null)
  await t.throwsAsync(service.read(req.objectId), { code: 'OBJECT_MISSING' })
  t.is(service.usage().usedBytes, 0)
})

test('nothing the node writes holds the bytes it received, an object id or a node id', async (t) => {
  const { dir, service } = await node(t)
  const marked = request(2, 2 * MIB)
  await service.store(marked)
  const needles = [Buffer.from(marked.bytes.subarray(100_000, 100_032)), Buffer.from(marked.bytes.subarray(2 * MIB - 32)), Buffer.from(marked.objectId), Buffer.from(owner), Buffer.from(sender), Buffer.from(marked.commitment), Buffer.from(toHex(marked.objectId))]
  let scanned = 0
  for (const f of walkFiles(dir)) {
    const body = readFileSync(f)
    scanned += body.length
    for (const n of needles) t.false(body.includes(n), `${f} contains a marker`)
  }
  t.true(scanned > 2 * MIB)
})

test('storing the same object again is a no-op; other contents under the same id are OBJECT_CONFLICT', async (t) => {
  const { service } = await node(t)
  const req = request(3, 100_000)
  const first = await service.store(req)
  t.deepEqual(await service.store(req), first)
  const other = request(4, 100_000, { objectId: req.objectId })
  await t.throwsAsync(service.store(other), { code: 'OBJECT_CONFLICT' })
  t.deepEqual(await service.read(req.objectId), req.bytes)
  t.is(service.usage().usedBytes, 100_000)
})

test("an owner's verification key is pinned once; stores must name it; another key is refused", async (t) => {
  const { service } = await node(t)
  t.deepEqual(service.ownerKey(owner)?.sha256, vkHash)
  t.deepEqual(service.ownerKey(owner)?.key, JSON.parse(new TextDecoder().decode(vkBytes)))
  t.deepEqual(service.pinOwnerKey(owner, vkBytes), vkHash, 'the same key again is a no-op')
  const other = new TextEncoder().encode(JSON.stringify({ protocol: 'groth16', curve: 'bn128', nPublic: 35, vk_alpha_1: ['3', '4', '1'] }))
  t.throws(() => service.pinOwnerKey(owner, other), { code: 'OWNER_KEY_MISMATCH' })
  t.deepEqual(service.ownerKey(owner)?.sha256, vkHash)
  await service.store(request(5, 5000))
  await t.throwsAsync(service.store(request(6, 5000, { ownerKeyHash: sampleBytes(7, 32) })), { code: 'OWNER_KEY_MISMATCH' })
  const stranger = asNodeId(sampleBytes(8, 32))
  await t.throwsAsync(service.store(request(9, 5000, { ownerNodeId: stranger })), { code: 'OWNER_KEY_MISMATCH', message: /no verification key pinned/ })
  t.throws(() => service.pinOwnerKey(stranger, new TextEncoder().encode('{"protocol":"plonk"}')), { code: 'INPUT_INVALID' })
  t.throws(() => service.pinOwnerKey(stranger, new Uint8Array([0xff, 0xfe, 0x7b])), { code: 'INPUT_INVALID' })
  t.is(service.ownerKey(stranger), null)
  t.is(service.usage().usedBytes, 5000)
})

test('quotas: per sender, total capacity and object size; refusals store nothing', async (t) => {
  const { service, dir } = await node(t, { perSenderBytes: 250_000, capacityBytes: 400_000, maxObjectBytes: 200_000 })
  await service.store(request(10, 200_000))
  await t.throwsAsync(service.store(request(11, 60_000)), { code: 'QUOTA_EXCEEDED', message: /quota is 250000/ })
  await t.throwsAsync(service.store(request(12, 200_001, { senderNodeId: asNodeId(sampleBytes(13, 32)) })), { code: 'QUOTA_EXCEEDED', message: /at most 200000/ })
  const other = asNodeId(sampleBytes(14, 32))
  await service.store(request(15, 150_000, { senderNodeId: other }))
  await t.throwsAsync(service.store(request(16, 60_000, { senderNodeId: asNodeId(sampleBytes(17, 32)) })), { code: 'QUOTA_EXCEEDED', message: /offers 400000 bytes and has 50000 left/ })
  t.is(service.usage().usedBytes, 350_000)
  t.is([...walkFiles(join(dir, 'objects'))].filter((f) => !f.includes('.tmp')).length, 2)
})

test('concurrent stores cannot overrun a quota together', async (t) => {
  const { service } = await node(t, { perSenderBytes: 300_000 })
  const results = await Promise.allSettled([1, 2, 3, 4, 5].map((i) => service.store(request(20 + i, 100_000))))
  t.is(results.filter((r) => r.status === 'fulfilled').length, 3)
  t.is(service.usage(sender).senderBytes, 300_000)
})

test('bad requests are refused with a clear error and change nothing', async (t) => {
  const { service } = await node(t)
  const good = request(30, 10_000)
  await t.throwsAsync(service.store({ ...good, merkleRoot: sampleBytes(31, 32) }), { code: 'OBJECT_CORRUPT', message: /do not match the Merkle root/ })
  await t.throwsAsync(service.store({ ...good, commitment: '21888242871839275222246405745257275088548364400416034343698204186575808495617' }), { code: 'INPUT_INVALID' })
  await t.throwsAsync(service.store({ ...good, commitment: '0x12' }), { code: 'INPUT_INVALID' })
  await t.throwsAsync(service.store({ ...good, bytes: new Uint8Array(0), merkleRoot: good.merkleRoot }), { code: 'INPUT_INVALID' })
  await t.throwsAsync(service.store({ ...good, ownerKeyHash: new Uint8Array(31) }), { code: 'INPUT_INVALID' })
  t.is(service.usage().usedBytes, 0)
  await service.store(good)
  await t.throwsAsync(service.read(good.objectId, 9_999, 2), { code: 'INPUT_INVALID' })
  await t.throwsAsync(service.audit(good.objectId, [3]), { code: 'INPUT_INVALID', message: /outside the object/ })
  await t.throwsAsync(service.audit(good.objectId, []), { code: 'INPUT_INVALID' })
  await t.throwsAsync(service.audit(good.objectId, Array.from({ length: 65 }, () => 0)), { code: 'INPUT_INVALID' })
})

test('a damaged stored file is OBJECT_CORRUPT for reads and audits, never wrong bytes', async (t) => {
  const { service, dir, keys } = await node(t)
  const req = request(40, 300_000)
  await service.store(req)
  const name = toHex(objectTag(sodium, keys, req.objectId))
  const file = [...walkFiles(join(dir, 'objects'))].find((f) => f.includes(name)) as string
  t.truthy(file)
  const body = readFileSync(file)
  body[200_000] = (body[200_000] as number) ^ 1
  writeFileSync(file, body)
  await t.throwsAsync(service.read(req.objectId), { code: 'OBJECT_CORRUPT' })
  t.deepEqual(await service.read(req.objectId, 0, 1000), req.bytes.subarray(0, 1000), 'records before the damage still read')
  await t.throwsAsync(service.audit(req.objectId, [0]), { code: 'OBJECT_CORRUPT' })
  writeFileSync(file, body.subarray(0, 1000))
  await t.throwsAsync(service.read(req.objectId, 250_000, 10), { code: 'OBJECT_CORRUPT' })
  t.true(statSync(file).size === 1000)
})

test('a stream reads the next piece from disk while one is sent; damage in a later piece ends it with OBJECT_CORRUPT after the good pieces', async (t) => {
  const dir = await tempDir(t)
  const catalog = new SqliteStorageCatalog(join(dir, 'storage.sqlite'))
  await catalog.open()
  t.teardown(() => catalog.close())
  const keys = deriveStorageKeys(sodium, sodium.randomBytes(32))
  const objects = new FsObjectStore(join(dir, 'objects'))
  // The real store, its range reads counted (by getRange, or by a reader opened once per stream),
  // and its readers: each one opened is closed again, however the stream ends.
  let reads = 0
  let readers = 0
  let open = 0
  const counted = intercept(objects, (prop, target) => {
    if (prop === 'getRange') return (...a: Parameters<typeof objects.getRange>) => (reads++, target.getRange(...a))
    if (prop !== 'openReader') return undefined
    return async (objectId: Parameters<typeof objects.openReader>[0]) => {
      const reader = await target.openReader(objectId)
      readers++
      open++
      return { sizeBytes: reader.sizeBytes, read: (...a: Parameters<typeof reader.read>) => (reads++, reader.read(...a)), close: () => (open--, reader.close()) }
    }
  })
  const service = new StorageService({ sodium, keys, catalog, objects: counted, clock })
  service.pinOwnerKey(owner, vkBytes)
  const req = request(41, 4 * MIB + 5)
  await service.store(req)
  reads = 0
  const stream = service.readStream(req.objectId, 10)
  const first = await stream.next()
  t.deepEqual(first.value, req.bytes.subarray(10, MIB))
  t.is(reads, 3, 'the header, this piece, and the next piece already on its way')
  const rest: Uint8Array[] = []
  for await (const p of stream) rest.push(p.slice())
  t.is(toHex(sodium.sha256(Buffer.concat(rest))), toHex(sodium.sha256(req.bytes.subarray(MIB))))
  t.is(reads, 6, 'each piece read once')
  // Damage in the third piece: the first two arrive intact, then OBJECT_CORRUPT; stopping a
  // stream early leaves nothing behind (its read ahead lands and is let go).
  const name = toHex(objectTag(sodium, keys, req.objectId))
  const file = [...walkFiles(join(dir, 'objects'))].find((f) => f.includes(name)) as string
  const body = readFileSync(file)
  body[2 * MIB + 5000] = (body[2 * MIB + 5000] as number) ^ 1
  writeFileSync(file, body)
  const got: Uint8Array[] = []
  const err = await t.throwsAsync(async () => {
    for await (const p of service.readStream(req.objectId)) got.push(p.slice())
  })
  t.is((err as { code?: string } | undefined)?.code, 'OBJECT_CORRUPT')
  t.deepEqual(Buffer.concat(got), Buffer.from(req.bytes.subarray(0, 2 * MIB)))
  const early = service.readStream(req.objectId)
  await early.next()
  await early.return(undefined)
  t.is(readers, 3, 'one reader for each stream')
  t.is(open, 0, 'each closed: at the end, after the damage, and when stopped early')
  t.deepEqual(await service.read(req.objectId, 0, 100), req.bytes.subarray(0, 100))
})

test('the catalog is bound to the storage key: another key cannot read it', async (t) => {
  const { dir, service } = await node(t)
  const req = request(50, 5000)
  await service.store(req)
  const catalog = new SqliteStorageCatalog(join(dir, 'storage.sqlite'))
  await catalog.open()
  t.teardown(() => catalog.close())
  const stranger = new StorageService({ sodium, keys: deriveStorageKeys(sodium, sodium.randomBytes(32)), catalog, objects: new FsObjectStore(join(dir, 'objects')), clock })
  t.is(stranger.meta(req.objectId), null, 'tags differ under another key')
})

test('leases: an owner that stops renewing loses its objects after the lease; renewals and stores keep them; objects from before leases get one', async (t) => {
  const DAY = 24 * 3600_000
  let now = 1_700_000_000_000
  const { service, dir, keys, catalog } = await node(t, {}, { nowMs: () => now })
  const other = asNodeId(sampleBytes(102, 32))
  service.pinOwnerKey(other, vkBytes)
  const a = request(11, 5000)
  const b = request(12, 6000, { ownerNodeId: other, objectId: asPackId(sampleBytes(5012, 32)) })
  await service.store(a)
  await service.store(b)
  t.is(service.leaseOf(owner), now)
  t.throws(() => service.renewLease(asNodeId(sampleBytes(103, 32))), { code: 'OBJECT_MISSING' })

  now += 60 * DAY
  t.is(service.renewLease(other), now)
  now += 31 * DAY // owner: 91 days since its store; other: 31 days since its renewal
  t.deepEqual(await service.sweepLeases(90 * DAY), { objects: 1, bytes: 5000 })
  t.is(service.meta(a.objectId), null)
  t.truthy(service.meta(b.objectId))
  t.false([...walkFiles(join(dir, 'objects'))].some((f) => f.includes(toHex(objectTag(sodium, keys, a.objectId)))))
  t.true([...walkFiles(join(dir, 'objects'))].some((f) => f.includes(toHex(objectTag(sodium, keys, b.objectId)))))
  t.deepEqual(await service.read(b.objectId), b.bytes)

  // An object stored before leases existed has no lease row: the sweep starts one, deletes nothing.
  catalog.dropLease(nodeTag(sodium, keys, other))
  now += 200 * DAY
  t.deepEqual(await service.sweepLeases(90 * DAY), { objects: 0, bytes: 0 })
  t.is(service.leaseOf(other), now)
  now += 90 * DAY
  t.deepEqual(await service.sweepLeases(90 * DAY), { objects: 1, bytes: 6000 })
})

test('a sender can get its own quota: listed with what it uses, enforced on its next store, removable', async (t) => {
  const { service } = await node(t)
  await service.store(request(21, 5000))
  t.deepEqual(service.senders(), [{ senderNodeId: sender, usedBytes: 5000, quotaBytes: service.limits.perSenderBytes, ownQuota: false }])
  service.setSenderQuota(sender, 8000)
  t.like(service.senders()[0], { quotaBytes: 8000, ownQuota: true })
  await t.throwsAsync(service.store(request(22, 5000)), { code: 'QUOTA_EXCEEDED' })
  t.is(service.senders()[0]?.usedBytes, 5000, 'the refused store kept nothing')
  t.throws(() => service.setSenderQuota(sender, -1), { code: 'INPUT_INVALID' })
  service.setSenderQuota(sender, null)
  await service.store(request(22, 5000))
  t.like(service.senders()[0], { usedBytes: 10_000, ownQuota: false })
})
