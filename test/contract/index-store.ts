import test, { type ExecutionContext } from 'ava'
import { NEW_PEER_AUDIT, type ChunkLocation, type IndexStore, type PackRecord } from '../../src/core/ports/index-store.js'
import { asChunkId, asNodeId, asPackId, asShareId } from '../../src/core/ids.js'
import { BackupError } from '../../src/core/errors.js'

const share = asShareId(new Uint8Array(16).fill(1))
const otherShare = asShareId(new Uint8Array(16).fill(2))
const packId = (n: number) => asPackId(new Uint8Array(32).fill(n))
const chunkId = (n: number) => asChunkId(new Uint8Array(32).fill(n))
const nodeId = (n: number) => asNodeId(new Uint8Array(32).fill(n))

function pack(n: number, chunks: number, shareId = share): PackRecord {
  return { packId: packId(n), shareId, sizeBytes: 1000 * n, merkleRoot: new Uint8Array(32).fill(n), chunkCount: chunks, createdAtMs: n, state: 'spooled' }
}
function loc(p: number, c: number, offset = 0): ChunkLocation {
  return { chunkId: chunkId(c), packId: packId(p), offsetBytes: offset, sealedBytes: 141, plainBytes: 100 }
}

/** The IndexStore contract (core/ports/index-store.ts); every adapter runs it. */
export function indexStoreContract(label: string, make: (t: ExecutionContext) => Promise<IndexStore>) {
  test(`${label} › addPack records the pack and its chunks; findChunk is per share`, async (t) => {
    const idx = await make(t)
    idx.addPack(pack(1, 2), [loc(1, 10), loc(1, 11, 141)])
    t.deepEqual(idx.getPack(packId(1)), pack(1, 2))
    t.deepEqual(idx.findChunk(share, chunkId(11)), loc(1, 11, 141))
    t.is(idx.findChunk(otherShare, chunkId(11)), null)
    t.is(idx.findChunk(share, chunkId(99)), null)
    t.is(idx.countChunks(share), 2)
    t.deepEqual(idx.listChunks(share), [loc(1, 10), loc(1, 11, 141)])
    t.deepEqual(idx.listChunks(otherShare), [])
    t.deepEqual(idx.listPacks(share).map((p) => p.packId), [packId(1)])
    t.deepEqual(idx.listPacks(otherShare), [])
    idx.setPackState(packId(1), 'replicated')
    t.is(idx.getPack(packId(1))?.state, 'replicated')
    idx.setPackMerkleRoot(packId(1), new Uint8Array(32).fill(9))
    t.deepEqual(idx.getPack(packId(1))?.merkleRoot, new Uint8Array(32).fill(9))
    idx.addPack(pack(2, 2), [loc(2, 21, 141), loc(2, 20)])
    t.deepEqual(idx.listChunksOfPack(packId(2)), [loc(2, 20), loc(2, 21, 141)])
    t.deepEqual(idx.listChunksOfPack(packId(3)), [])
    t.deepEqual(idx.listChunks(share), [loc(1, 10), loc(1, 11, 141), loc(2, 20), loc(2, 21, 141)], 'by chunk id, across packs')
  })

  test(`${label} › a known chunk id is kept where it was first recorded`, async (t) => {
    const idx = await make(t)
    idx.addPack(pack(1, 1), [loc(1, 10)])
    idx.addPack(pack(2, 1), [loc(2, 10)])
    t.deepEqual(idx.findChunk(share, chunkId(10))?.packId, packId(1))
    t.is(idx.countChunks(share), 1)
  })

  test(`${label} › addPack is all or nothing`, async (t) => {
    const idx = await make(t)
    t.throws(() => idx.addPack(pack(3, 2), [loc(3, 20), loc(4, 21)]), { instanceOf: BackupError, code: 'INPUT_INVALID' })
    t.throws(() => idx.addPack(pack(3, 3), [loc(3, 20)]), { instanceOf: BackupError, code: 'INPUT_INVALID' })
    t.is(idx.getPack(packId(3)), null)
    t.is(idx.findChunk(share, chunkId(20)), null)
  })

  test(`${label} › transaction rolls back everything when fn throws`, async (t) => {
    const idx = await make(t)
    const file = { shareId: share, path: 'a.txt', sizeBytes: 5, mtimeMs: 1.5, inode: 7, mode: 0o644, chunkIds: [chunkId(1)] }
    t.throws(() => idx.transaction(() => {
      idx.putFile(file)
      idx.addPack(pack(5, 1), [loc(5, 50)])
      throw new Error('boom')
    }), { message: 'boom' })
    t.is(idx.getFile(share, 'a.txt'), null)
    t.is(idx.getPack(packId(5)), null)
    idx.transaction(() => idx.putFile(file))
    t.deepEqual(idx.getFile(share, 'a.txt'), file)
  })

  test(`${label} › files: put replaces, list is sorted by path, delete removes`, async (t) => {
    const idx = await make(t)
    const f = (path: string, n: number) => ({ shareId: share, path, sizeBytes: n, mtimeMs: 1700000000123.25, inode: n, mode: 0o100644, chunkIds: [chunkId(n), chunkId(n + 1)] })
    idx.putFile(f('b/ünïcödé.txt', 1))
    idx.putFile(f('a.txt', 2))
    idx.putFile(f('a.txt', 3))
    t.deepEqual(idx.listFiles(share).map((x) => [x.path, x.sizeBytes]), [['a.txt', 3], ['b/ünïcödé.txt', 1]])
    t.deepEqual(idx.getFile(share, 'b/ünïcödé.txt'), f('b/ünïcödé.txt', 1))
    t.deepEqual(idx.getFile(share, 'a.txt')?.chunkIds, [chunkId(3), chunkId(4)])
    idx.putFile({ ...f('empty', 0), chunkIds: [] })
    t.deepEqual(idx.getFile(share, 'empty')?.chunkIds, [])
    idx.deleteFile(share, 'a.txt')
    t.is(idx.getFile(share, 'a.txt'), null)
    t.deepEqual(idx.listFiles(otherShare), [])
  })

  test(`${label} › folder manifests: replaced all at once, listed by path, per share`, async (t) => {
    const idx = await make(t)
    const ref = (n: number) => ({ chunkId: chunkId(n), packId: packId(n), offsetBytes: 0, sealedBytes: 141 + n, plainBytes: 100 + n })
    const trees = [
      { path: 'b/c', mode: 0o700, mtimeMs: 1_700_000_000_123.5, entries: 3, tree: [ref(1), ref(2)] },
      { path: '', mode: 0, mtimeMs: 0, entries: 1, tree: [ref(3)] },
      { path: 'b', mode: 0o755, mtimeMs: 2, entries: 0, tree: [ref(4)] },
    ]
    idx.replaceDirTrees(share, trees)
    idx.replaceDirTrees(otherShare, [trees[0] as (typeof trees)[0]])
    t.deepEqual(idx.listDirTrees(share), [trees[1], trees[2], trees[0]])
    idx.replaceDirTrees(share, [trees[2] as (typeof trees)[0]])
    t.deepEqual(idx.listDirTrees(share), [trees[2]])
    idx.replaceDirTrees(share, [])
    t.deepEqual(idx.listDirTrees(share), [])
    t.deepEqual(idx.listDirTrees(otherShare), [trees[0]])
    t.throws(() => idx.transaction(() => {
      idx.replaceDirTrees(otherShare, [])
      throw new Error('rolled back')
    }))
    t.deepEqual(idx.listDirTrees(otherShare), [trees[0]], 'a rolled-back replace changes nothing')
  })

  test(`${label} › manifest chunks: kept by chunk id per share, a known id left as it is, the rest forgotten by keep and by removing the share`, async (t) => {
    const idx = await make(t)
    const bytes = (n: number) => new Uint8Array([n, n + 1, n + 2])
    idx.putManifestChunks(share, [{ chunkId: chunkId(1), bytes: bytes(1) }, { chunkId: chunkId(2), bytes: bytes(2) }])
    idx.putManifestChunks(otherShare, [{ chunkId: chunkId(1), bytes: bytes(9) }])
    idx.putManifestChunks(share, [{ chunkId: chunkId(1), bytes: bytes(7) }, { chunkId: chunkId(3), bytes: bytes(3) }])
    t.deepEqual(idx.getManifestChunk(share, chunkId(1)), bytes(1), 'a known id is not replaced')
    t.deepEqual(idx.getManifestChunk(otherShare, chunkId(1)), bytes(9))
    t.is(idx.getManifestChunk(share, chunkId(4)), null)
    idx.keepManifestChunks(share, [chunkId(2), chunkId(3), chunkId(4)])
    t.is(idx.getManifestChunk(share, chunkId(1)), null)
    t.deepEqual(idx.getManifestChunk(share, chunkId(3)), bytes(3))
    t.deepEqual(idx.getManifestChunk(otherShare, chunkId(1)), bytes(9), 'another share keeps its own')
    t.throws(() => idx.transaction(() => {
      idx.keepManifestChunks(share, [])
      throw new Error('rolled back')
    }))
    t.deepEqual(idx.getManifestChunk(share, chunkId(2)), bytes(2), 'a rolled-back keep changes nothing')
    idx.addShare({ shareId: share, name: 'kept', path: '/x', copies: 3, schedule: null, watch: false, wrappedKey: null, pointerSeq: 0, pendingBackup: false, lastBackupMs: null, lastResult: null, createdAtMs: 5 })
    idx.removeShare(share)
    t.is(idx.getManifestChunk(share, chunkId(2)), null)
    t.deepEqual(idx.getManifestChunk(otherShare, chunkId(1)), bytes(9))
  })

  test(`${label} › snapshots are ordered by sequence; the same sequence again replaces it; shares are per share`, async (t) => {
    const idx = await make(t)
    const ref = (n: number) => ({ chunkId: chunkId(n), packId: packId(n), offsetBytes: 0, sealedBytes: 141, plainBytes: 100 })
    const s = (seq: number, files = seq) => ({ shareId: share, summary: { seq, createdAtMs: seq * 10, root: [ref(seq)], fileCount: files, dirCount: 1, totalBytes: seq * 100, skipped: [{ path: 'a/b', reason: 'changed while read' }] } })
    idx.putSnapshot(s(2))
    idx.putSnapshot(s(1))
    t.deepEqual(idx.listSnapshots(share).map((x) => x.summary.seq), [1, 2])
    t.deepEqual(idx.listSnapshots(share)[0], s(1))
    idx.putSnapshot(s(2, 7))
    t.deepEqual(idx.listSnapshots(share).map((x) => x.summary.fileCount), [1, 7])
    t.deepEqual(idx.listSnapshots(otherShare), [])
  })

  test(`${label} › shares: unique names, partial updates, removal forgets files and snapshots`, async (t) => {
    const idx = await make(t)
    const rec = { shareId: share, name: 'photos', path: '/mnt/photos', copies: 3, schedule: '0 3 * * *', watch: false, wrappedKey: null, pointerSeq: 0, pendingBackup: false, lastBackupMs: null, lastResult: null, createdAtMs: 5 }
    idx.addShare(rec)
    t.throws(() => idx.addShare({ ...rec, shareId: otherShare }), { instanceOf: BackupError, code: 'INPUT_INVALID' })
    t.throws(() => idx.addShare({ ...rec, name: 'other' }), { instanceOf: BackupError, code: 'INPUT_INVALID' })
    const imported = { ...rec, shareId: otherShare, name: 'friend', path: null, wrappedKey: new Uint8Array(72).fill(9), schedule: null }
    idx.addShare(imported)
    t.deepEqual(idx.getShare('photos'), rec)
    t.deepEqual(idx.listShares().map((x) => x.name), ['friend', 'photos'])
    idx.updateShare(share, { pendingBackup: true, pointerSeq: 4, lastResult: 'degraded' })
    t.deepEqual(idx.getShare('photos'), { ...rec, pendingBackup: true, pointerSeq: 4, lastResult: 'degraded' })
    idx.putFile({ shareId: share, path: 'a', sizeBytes: 1, mtimeMs: 1, inode: 1, mode: 0o644, chunkIds: [chunkId(1)] })
    idx.putSnapshot({ shareId: share, summary: { seq: 1, createdAtMs: 1, root: [{ chunkId: chunkId(1), packId: packId(1), offsetBytes: 0, sealedBytes: 141, plainBytes: 100 }], fileCount: 1, dirCount: 1, totalBytes: 1, skipped: [] } })
    idx.replaceDirTrees(share, [{ path: '', mode: 0, mtimeMs: 0, entries: 1, tree: [{ chunkId: chunkId(2), packId: packId(1), offsetBytes: 141, sealedBytes: 141, plainBytes: 100 }] }])
    idx.removeShare(share)
    t.is(idx.getShare('photos'), null)
    t.deepEqual(idx.listFiles(share), [])
    t.deepEqual(idx.listDirTrees(share), [])
    t.deepEqual(idx.listSnapshots(share), [])
    t.deepEqual(idx.getShare('friend'), imported)
  })

  test(`${label} › peers upsert keeps first-seen; replicas per pack`, async (t) => {
    const idx = await make(t)
    const p = { nodeId: nodeId(1), url: 'https://127.0.0.1:1', certFingerprint: new Uint8Array(32).fill(1), firstSeenMs: 10, lastSeenMs: 10, state: 'active' as const, audit: { ...NEW_PEER_AUDIT } }
    idx.upsertPeer(p)
    const audited = { passed: 3, failed: 1, consecutiveFailures: 1, lastMs: 50, lastOkMs: 40, score: 0.75 }
    idx.updatePeer(nodeId(1), { audit: audited })
    // A later upsert (the peer added again) keeps first-seen and the audit history.
    idx.upsertPeer({ ...p, firstSeenMs: 99, lastSeenMs: 20, url: 'https://127.0.0.1:2' })
    t.deepEqual(idx.getPeer(nodeId(1)), { ...p, lastSeenMs: 20, url: 'https://127.0.0.1:2', audit: audited })
    idx.updatePeer(nodeId(1), { state: 'failing' })
    t.is(idx.getPeer(nodeId(1))?.state, 'failing')
    t.deepEqual(idx.getPeer(nodeId(1))?.audit, audited)
    idx.updatePeer(nodeId(1), { state: 'active' })
    t.is(idx.getPeer(nodeId(2)), null)
    idx.upsertPeer({ ...p, nodeId: nodeId(2), firstSeenMs: 5 })
    t.deepEqual(idx.listPeers().map((x) => x.nodeId), [nodeId(2), nodeId(1)])
    idx.addPack(pack(1, 1), [loc(1, 1)])
    const r = { packId: packId(1), nodeId: nodeId(1), receipt: new Uint8Array([1, 2, 3]), storedAtMs: 5, merkleRoot: new Uint8Array(32).fill(7), lastAuditMs: null, status: 'stored' as const, failures: 0 }
    idx.putReplica(r)
    idx.putReplica({ ...r, nodeId: nodeId(2) })
    idx.putReplica({ ...r, status: 'healthy', lastAuditMs: 9 })
    t.deepEqual(idx.listReplicas(packId(1)), [{ ...r, status: 'healthy', lastAuditMs: 9 }, { ...r, nodeId: nodeId(2) }])
    t.deepEqual(idx.listReplicasOfShare(share).map((x) => x.nodeId), [nodeId(1), nodeId(2)])
    t.deepEqual(idx.listReplicasOfShare(otherShare), [])
    idx.updateReplica(packId(1), nodeId(2), { status: 'bad', failures: 2, lastAuditMs: 77 })
    idx.updateReplica(packId(1), nodeId(3), { status: 'bad' })
    t.deepEqual(idx.listReplicas(packId(1)), [{ ...r, status: 'healthy', lastAuditMs: 9 }, { ...r, nodeId: nodeId(2), status: 'bad', failures: 2, lastAuditMs: 77 }])
  })

  test(`${label} › calls after close reject with CLOSED`, async (t) => {
    const idx = await make(t)
    await idx.close()
    t.throws(() => idx.findChunk(share, chunkId(1)), { instanceOf: BackupError, code: 'CLOSED' })
    t.throws(() => idx.transaction(() => 1), { instanceOf: BackupError, code: 'CLOSED' })
  })
}
