import test from 'ava'
import { join } from 'node:path'
import { composePeerServer, type ComposedPeerServer } from '../../src/app/compose.js'
import { Replicator } from '../../src/app/owner/replicator.js'
import { Publisher } from '../../src/app/owner/publisher.js'
import { BackupService } from '../../src/app/owner/backup-service.js'
import { PeerPool } from '../../src/app/owner/peer-pool.js'
import { OwnerKeys } from '../../src/app/owner/owner-keys.js'
import { IngestService } from '../../src/app/ingest-service.js'
import { HttpsPeerClient } from '../../src/adapters/https-peer/https-peer-client.js'
import { SqliteIndexStore } from '../../src/adapters/sqlite/sqlite-index-store.js'
import { FsObjectStore } from '../../src/adapters/fs/fs-object-store.js'
import { FsSource } from '../../src/adapters/fs/fs-source.js'
import { WorkerChunkSealer } from '../../src/adapters/sodium/worker-chunk-sealer.js'
import { SystemClock } from '../../src/adapters/system/system-clock.js'
import { CircomlibPoseidon } from '../../src/adapters/snarkjs/circomlib-poseidon.js'
import { JsonLogger } from '../../src/adapters/log/json-logger.js'
import { identityFromSeed } from '../../src/core/identity.js'
import { asShareId, type PackId } from '../../src/core/ids.js'
import type { ObjectStore } from '../../src/core/ports/object-store.js'
import { ioFailed } from '../../src/core/errors.js'
import { sampleBytes, sodium, tempDir } from '../helpers/index.js'
import { writeTree } from '../helpers/tree.js'
import { ownerSetup } from '../helpers/zk.js'
import { toHex } from '../../src/shared/bytes.js'
import { verifyMerkleProof } from '../../src/core/audit/index.js'

const clock = new SystemClock()
const log = new JsonLogger({ level: 'error' })
const [setup, poseidon] = await Promise.all([ownerSetup('a'), CircomlibPoseidon.create()])
const servers: ComposedPeerServer[] = []
test.after.always(async () => {
  for (const s of servers) await s.close()
})

test('packs go to their peers from the spool file in pieces of at most 1 MiB, never read whole, and every copy is receipted', async (t) => {
  const dir = await tempDir(t)
  const index = new SqliteIndexStore(join(dir, 'index.sqlite'))
  await index.open()
  const spool = new FsObjectStore(join(dir, 'spool'))
  const sealer = new WorkerChunkSealer({ threads: 2 })
  t.teardown(async () => {
    await sealer.close()
    await spool.close()
    await index.close()
  })
  const src = join(dir, 'src')
  await writeTree(src, { 'big.bin': sampleBytes(1, 9 * 1024 * 1024 + 5), 'small.txt': 'small' })
  const shareId = asShareId(new Uint8Array(16).fill(3))
  const owner = new OwnerKeys(sodium, sampleBytes(2, 32), () => Promise.reject(new Error('no proofs here')), new TextEncoder().encode(JSON.stringify(setup.verificationKey)), new Uint8Array(32))
  index.addShare({ shareId, name: 'docs', path: src, copies: 2, schedule: null, watch: false, wrappedKey: null, pointerSeq: 0, pendingBackup: false, lastBackupMs: null, lastResult: null, createdAtMs: clock.nowMs() })
  const share = index.getShare('docs')
  if (!share) return t.fail()
  const keys = owner.shareKeys(share)
  await new IngestService({ sodium, index, spool, clock, sealer }).ingest(shareId, keys, new FsSource(src))
  const packs = index.listPacks(shareId)
  t.true(packs.some((p) => p.sizeBytes > 8 * 1024 * 1024), 'a pack of several MiB')

  const ranges: number[] = []
  let wholeReads = 0
  const watched: ObjectStore = {
    put: (id, bytes, opts) => spool.put(id, bytes, opts),
    get: (id: PackId) => (wholeReads++, spool.get(id)),
    getRange: (id, offset, length, into) => (ranges.push(length), spool.getRange(id, offset, length, into)),
    size: (id) => spool.size(id),
    has: (id) => spool.has(id),
    delete: (id) => spool.delete(id),
    list: () => spool.list(),
  }
  for (const seed of [40, 41]) {
    const server = await composePeerServer({ dataDir: await tempDir(t), listen: { host: '127.0.0.1', port: 0 }, identity: identityFromSeed(sodium, sampleBytes(seed, 32)), log })
    servers.push(server)
  }
  const pool = new PeerPool({ index, connect: (url, o) => new HttpsPeerClient(url, { sodium, clock, ...o }), identity: owner.identity, clock })
  for (const s of servers) await pool.add(s.url())
  const result = await new Replicator({ index, spool: watched, pool, poseidon, sodium, clock, log }).replicate(share, keys, owner)
  t.deepEqual(result, { short: 0, packs: packs.length })
  t.is(wholeReads, 0)
  t.true(ranges.length > 0 && Math.max(...ranges) <= 1024 * 1024, `largest read ${Math.max(...ranges)} bytes`)
  const replicas = index.listReplicasOfShare(shareId)
  for (const p of packs) {
    t.false(await spool.has(p.packId), 'a pack with all its copies leaves the spool')
    const copies = replicas.filter((r) => toHex(r.packId) === toHex(p.packId))
    t.is(copies.length, 2)
    // Each storage node holds the pack whole: the size and Merkle root the owner made.
    for (const r of copies) {
      const audit = await pool.client(pool.byId(toHex(r.nodeId))).audit(p.packId, [0, Math.floor((p.sizeBytes - 1) / 4096)])
      t.is(audit.sizeBytes, p.sizeBytes)
      for (const proof of audit.proofs) t.true(verifyMerkleProof(sodium, p.merkleRoot, p.sizeBytes, proof))
    }
  }
})

test('a spool file that fails to read mid-upload fails the run with the spool\'s error, not as the peers\' fault; the pack stays spooled', async (t) => {
  const dir = await tempDir(t)
  const index = new SqliteIndexStore(join(dir, 'index.sqlite'))
  await index.open()
  const spool = new FsObjectStore(join(dir, 'spool'))
  const sealer = new WorkerChunkSealer({ threads: 1 })
  t.teardown(async () => {
    await sealer.close()
    await spool.close()
    await index.close()
  })
  const src = join(dir, 'src')
  await writeTree(src, { 'big.bin': sampleBytes(3, 5 * 1024 * 1024) })
  const shareId = asShareId(new Uint8Array(16).fill(4))
  const owner = new OwnerKeys(sodium, sampleBytes(2, 32), () => Promise.reject(new Error('no proofs here')), new TextEncoder().encode(JSON.stringify(setup.verificationKey)), new Uint8Array(32))
  index.addShare({ shareId, name: 'docs', path: src, copies: 1, schedule: null, watch: false, wrappedKey: null, pointerSeq: 0, pendingBackup: false, lastBackupMs: null, lastResult: null, createdAtMs: clock.nowMs() })
  const share = index.getShare('docs')
  if (!share) return t.fail()
  const keys = owner.shareKeys(share)
  await new IngestService({ sodium, index, spool, clock, sealer }).ingest(shareId, keys, new FsSource(src))
  const [pack] = index.listPacks(shareId)
  if (!pack) return t.fail()
  const pieces = Math.ceil(pack.sizeBytes / (1024 * 1024))
  let reads = 0
  // The hash pass reads every piece; the upload's third piece then fails.
  const failing: ObjectStore = {
    put: (id, bytes, opts) => spool.put(id, bytes, opts),
    get: (id) => spool.get(id),
    getRange: (id, offset, length, into) => (++reads === pieces + 3 ? Promise.reject(ioFailed('reading a spooled pack', new Error('Input/output error'))) : spool.getRange(id, offset, length, into)),
    size: (id) => spool.size(id),
    has: (id) => spool.has(id),
    delete: (id) => spool.delete(id),
    list: () => spool.list(),
  }
  const server = await composePeerServer({ dataDir: await tempDir(t), listen: { host: '127.0.0.1', port: 0 }, identity: identityFromSeed(sodium, sampleBytes(42, 32)), log })
  servers.push(server)
  const pool = new PeerPool({ index, connect: (url, o) => new HttpsPeerClient(url, { sodium, clock, ...o }), identity: owner.identity, clock })
  await pool.add(server.url())
  await t.throwsAsync(new Replicator({ index, spool: failing, pool, poseidon, sodium, clock, log }).replicate(share, keys, owner), { code: 'IO_FAILED', message: /reading a spooled pack/ })
  t.true(await spool.has(pack.packId))
  t.deepEqual(index.listReplicasOfShare(shareId), [])
  // Read again without the fault, the same pack goes out whole.
  t.deepEqual(await new Replicator({ index, spool, pool, poseidon, sodium, clock, log }).replicate(share, keys, owner), { short: 0, packs: 1 })
})

test('a backup runs under the backup heap tuning and ends it, whether it completes or fails', async (t) => {
  const dir = await tempDir(t)
  const index = new SqliteIndexStore(join(dir, 'index.sqlite'))
  await index.open()
  const spool = new FsObjectStore(join(dir, 'spool'))
  const sealer = new WorkerChunkSealer({ threads: 1 })
  t.teardown(async () => {
    await sealer.close()
    await spool.close()
    await index.close()
  })
  const src = join(dir, 'src')
  await writeTree(src, { 'a.txt': 'alpha', 'sub/b.bin': sampleBytes(5, 300_000) })
  const owner = new OwnerKeys(sodium, sampleBytes(2, 32), () => Promise.reject(new Error('no proofs here')), new TextEncoder().encode(JSON.stringify(setup.verificationKey)), new Uint8Array(32))
  index.addShare({ shareId: asShareId(new Uint8Array(16).fill(6)), name: 'docs', path: src, copies: 1, schedule: null, watch: false, wrappedKey: null, pointerSeq: 0, pendingBackup: false, lastBackupMs: null, lastResult: null, createdAtMs: clock.nowMs() })
  index.addShare({ shareId: asShareId(new Uint8Array(16).fill(7)), name: 'gone', path: join(dir, 'no-such-folder'), copies: 1, schedule: null, watch: false, wrappedKey: null, pointerSeq: 0, pendingBackup: false, lastBackupMs: null, lastResult: null, createdAtMs: clock.nowMs() })
  const server = await composePeerServer({ dataDir: await tempDir(t), listen: { host: '127.0.0.1', port: 0 }, identity: identityFromSeed(sodium, sampleBytes(43, 32)), log })
  servers.push(server)
  const pool = new PeerPool({ index, connect: (url, o) => new HttpsPeerClient(url, { sodium, clock, ...o }), identity: owner.identity, clock })
  await pool.add(server.url())
  const ingest = new IngestService({ sodium, index, spool, clock, sealer })
  const replicator = new Replicator({ index, spool, pool, poseidon, sodium, clock, log })
  const publisher = new Publisher({ sodium, index, pool, ingest, replicator, clock, log })
  const events: string[] = []
  const heap = { duringBackup: () => (events.push('backup'), () => events.push('steady')) }
  // The source is read while the backup tuning holds.
  const sourceFor = (path: string) => {
    const fs = new FsSource(path)
    return { walk: () => (events.push('walk'), fs.walk()), stat: (p: string) => fs.stat(p), readLink: (p: string) => fs.readLink(p), read: (p: string) => fs.read(p) }
  }
  const backups = new BackupService({ index, ingest, publisher, clock, sourceFor, heap })
  const docs = index.getShare('docs')
  const gone = index.getShare('gone')
  if (!docs || !gone) return t.fail()
  const done = await backups.run(docs, owner.shareKeys(docs), owner)
  t.is(done.result, 'complete')
  t.deepEqual(events, ['backup', 'walk', 'steady'])
  events.length = 0
  await t.throwsAsync(backups.run(gone, owner.shareKeys(gone), owner))
  t.deepEqual(events, ['backup', 'walk', 'steady'])
})
