import test, { type ExecutionContext } from 'ava'
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
import { asShareId, type PackId, type ShareId } from '../../src/core/ids.js'
import type { ShareRecord } from '../../src/core/ports/index-store.js'
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

/** The owner side on real parts (SQLite index, spool folder, seal threads), with a share over `tree`. */
async function ownerSide(t: ExecutionContext, tree: Parameters<typeof writeTree>[1], share: { name: string; fill: number; copies: number }) {
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
  await writeTree(src, tree)
  const owner = new OwnerKeys(sodium, sampleBytes(2, 32), () => Promise.reject(new Error('no proofs here')), new TextEncoder().encode(JSON.stringify(setup.verificationKey)), new Uint8Array(32))
  const shareId = asShareId(new Uint8Array(16).fill(share.fill))
  addShare(index, shareId, share.name, src, share.copies)
  const record = index.getShare(share.name) as ShareRecord
  return { dir, index, spool, sealer, src, owner, shareId, share: record, keys: owner.shareKeys(record), ingest: new IngestService({ sodium, index, spool, clock, sealer }) }
}

function addShare(index: SqliteIndexStore, shareId: ShareId, name: string, path: string, copies: number): void {
  index.addShare({ shareId, name, path, copies, schedule: null, watch: false, wrappedKey: null, pointerSeq: 0, pendingBackup: false, lastBackupMs: null, lastResult: null, createdAtMs: clock.nowMs() })
}

/** Storage nodes in this process, and the owner's pool knowing them. */
async function peers(t: ExecutionContext, index: SqliteIndexStore, owner: OwnerKeys, seeds: number[]) {
  const pool = new PeerPool({ index, connect: (url, o) => new HttpsPeerClient(url, { sodium, clock, ...o }), identity: owner.identity, clock })
  for (const seed of seeds) {
    const server = await composePeerServer({ dataDir: await tempDir(t), listen: { host: '127.0.0.1', port: 0 }, identity: identityFromSeed(sodium, sampleBytes(seed, 32)), log })
    servers.push(server)
    await pool.add(server.url())
  }
  return pool
}

/** A view of `spool` whose reads go through `getRange` (and `get`) given. */
function spoolWith(spool: FsObjectStore, reads: Pick<ObjectStore, 'getRange'> & Partial<Pick<ObjectStore, 'get'>>): ObjectStore {
  return {
    put: (id, bytes, opts) => spool.put(id, bytes, opts),
    get: reads.get ?? ((id) => spool.get(id)),
    getRange: reads.getRange,
    size: (id) => spool.size(id),
    has: (id) => spool.has(id),
    delete: (id) => spool.delete(id),
    list: () => spool.list(),
  }
}

test('packs go to their peers from the spool file in pieces of at most 1 MiB, never read whole, and every copy is receipted', async (t) => {
  const o = await ownerSide(t, { 'big.bin': sampleBytes(1, 9 * 1024 * 1024 + 5), 'small.txt': 'small' }, { name: 'docs', fill: 3, copies: 2 })
  await o.ingest.ingest(o.shareId, o.keys, new FsSource(o.src))
  const packs = o.index.listPacks(o.shareId)
  t.true(packs.some((p) => p.sizeBytes > 8 * 1024 * 1024), 'a pack of several MiB')

  const ranges: number[] = []
  let wholeReads = 0
  const watched = spoolWith(o.spool, {
    get: (id: PackId) => (wholeReads++, o.spool.get(id)),
    getRange: (id, offset, length, into) => (ranges.push(length), o.spool.getRange(id, offset, length, into)),
  })
  const pool = await peers(t, o.index, o.owner, [40, 41])
  const result = await new Replicator({ index: o.index, spool: watched, pool, poseidon, sodium, clock, log }).replicate(o.share, o.keys, o.owner)
  t.deepEqual(result, { short: 0, packs: packs.length })
  t.is(wholeReads, 0)
  t.true(ranges.length > 0 && Math.max(...ranges) <= 1024 * 1024, `largest read ${Math.max(...ranges)} bytes`)
  const replicas = o.index.listReplicasOfShare(o.shareId)
  for (const p of packs) {
    t.false(await o.spool.has(p.packId), 'a pack with all its copies leaves the spool')
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
  const o = await ownerSide(t, { 'big.bin': sampleBytes(3, 5 * 1024 * 1024) }, { name: 'docs', fill: 4, copies: 1 })
  await o.ingest.ingest(o.shareId, o.keys, new FsSource(o.src))
  const [pack] = o.index.listPacks(o.shareId)
  if (!pack) return t.fail()
  const pieces = Math.ceil(pack.sizeBytes / (1024 * 1024))
  let reads = 0
  // The hash pass reads every piece; the upload's third piece then fails.
  const failing = spoolWith(o.spool, {
    getRange: (id, offset, length, into) => (++reads === pieces + 3 ? Promise.reject(ioFailed('reading a spooled pack', new Error('Input/output error'))) : o.spool.getRange(id, offset, length, into)),
  })
  const pool = await peers(t, o.index, o.owner, [42])
  await t.throwsAsync(new Replicator({ index: o.index, spool: failing, pool, poseidon, sodium, clock, log }).replicate(o.share, o.keys, o.owner), { code: 'IO_FAILED', message: /reading a spooled pack/ })
  t.true(await o.spool.has(pack.packId))
  t.deepEqual(o.index.listReplicasOfShare(o.shareId), [])
  // Read again without the fault, the same pack goes out whole.
  t.deepEqual(await new Replicator({ index: o.index, spool: o.spool, pool, poseidon, sodium, clock, log }).replicate(o.share, o.keys, o.owner), { short: 0, packs: 1 })
})

test('a backup runs under the backup heap tuning and ends it, whether it completes or fails', async (t) => {
  const o = await ownerSide(t, { 'a.txt': 'alpha', 'sub/b.bin': sampleBytes(5, 300_000) }, { name: 'docs', fill: 6, copies: 1 })
  addShare(o.index, asShareId(new Uint8Array(16).fill(7)), 'gone', join(o.dir, 'no-such-folder'), 1)
  const pool = await peers(t, o.index, o.owner, [43])
  const replicator = new Replicator({ index: o.index, spool: o.spool, pool, poseidon, sodium, clock, log })
  const publisher = new Publisher({ sodium, index: o.index, pool, ingest: o.ingest, replicator, clock, log })
  const events: string[] = []
  const heap = { duringBackup: () => (events.push('backup'), () => events.push('steady')) }
  // The source is read while the backup tuning holds.
  const sourceFor = (path: string) => {
    const fs = new FsSource(path)
    return { walk: () => (events.push('walk'), fs.walk()), stat: (p: string) => fs.stat(p), readLink: (p: string) => fs.readLink(p), read: (p: string) => fs.read(p) }
  }
  const backups = new BackupService({ index: o.index, ingest: o.ingest, publisher, clock, sourceFor, heap })
  const done = await backups.run(o.share, o.keys, o.owner)
  t.is(done.result, 'complete')
  t.deepEqual(events, ['backup', 'walk', 'steady'])
  events.length = 0
  const gone = o.index.getShare('gone') as ShareRecord
  await t.throwsAsync(backups.run(gone, o.owner.shareKeys(gone), o.owner))
  t.deepEqual(events, ['backup', 'walk', 'steady'])
})
