import Database from 'better-sqlite3'
import type {
  ChunkLocation, DirTreeRecord, FileRecord, IndexStore, PackRecord, PackState, PeerRecord, ReplicaRecord, ShareRecord, SnapshotRecord,
} from '../../core/ports/index-store.js'
import { asChunkId, asNodeId, asPackId, asShareId, type ChunkId, type NodeId, type PackId, type ShareId } from '../../core/ids.js'
import { closed, indexCorrupt, inputInvalid, isBackupError } from '../../core/errors.js'
import { bytesEqual, concatBytes, toHex } from '../../shared/bytes.js'
import { Resource } from '../../shared/resource.js'
import { migrate } from './migrate.js'
import { decodeRefs, encodeRef, summaryFromJson, summaryToJson } from '../../core/snapshot/index.js'

type Row = Record<string, unknown>

function bytes(v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) throw indexCorrupt('a binary column holds another type')
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
}
function num(v: unknown): number {
  if (typeof v !== 'number') throw indexCorrupt('a numeric column holds another type')
  return v
}
function str(v: unknown): string {
  if (typeof v !== 'string') throw indexCorrupt('a text column holds another type')
  return v
}
/** Rows that fail to brand (wrong lengths) are corruption, not bad input. */
function decode<T>(fn: () => T): T {
  try {
    return fn()
  } catch (err) {
    if (isBackupError(err, 'INPUT_INVALID')) throw indexCorrupt(err.message)
    throw err
  }
}

/** Views into the row's blob, not copies: a rescan of a large share reads every file's ids. */
function splitIds(blob: Uint8Array): ChunkId[] {
  if (blob.length % 32 !== 0) throw indexCorrupt('a file record holds a partial chunk id')
  const out: ChunkId[] = []
  for (let at = 0; at < blob.length; at += 32) out.push(blob.subarray(at, at + 32) as ChunkId)
  return out
}

/**
 * IndexStore on better-sqlite3 (synchronous, in-process): WAL journal, STRICT tables, schema from
 * numbered migrations in ./migrations. One connection per process; the file should live on local
 * storage (WAL needs shared memory).
 */
export class SqliteIndexStore extends Resource implements IndexStore {
  readonly #path: string
  #db: Database.Database | null = null
  #stmts = new Map<string, Database.Statement>()

  constructor(path: string) {
    super()
    this.#path = path
  }

  protected async onOpen(): Promise<void> {
    const db = new Database(this.#path)
    this.#db = db
    db.pragma('journal_mode = WAL')
    // NORMAL is durable across process crashes in WAL mode; only power loss may roll back the last
    // commits, which a backup repeats.
    db.pragma('synchronous = NORMAL')
    db.pragma('foreign_keys = ON')
    migrate(db)
  }

  protected async onClose(): Promise<void> {
    this.#stmts.clear()
    this.#db?.close()
    this.#db = null
  }

  #q(sql: string): Database.Statement {
    const db = this.#db
    if (!db || this.closing) throw closed('index')
    let s = this.#stmts.get(sql)
    if (!s) {
      s = db.prepare(sql)
      this.#stmts.set(sql, s)
    }
    return s
  }

  transaction<T>(fn: () => T): T {
    const db = this.#db
    if (!db || this.closing) throw closed('index')
    return db.transaction(fn)()
  }

  addPack(pack: PackRecord, chunks: readonly ChunkLocation[]): void {
    if (chunks.length !== pack.chunkCount) throw inputInvalid('pack chunk count does not match its chunks')
    this.transaction(() => {
      this.#q(`INSERT OR IGNORE INTO packs (pack_id, share_id, size_bytes, merkle_root, chunk_count, created_at_ms, state)
               VALUES (?, ?, ?, ?, ?, ?, ?)`).run(pack.packId, pack.shareId, pack.sizeBytes, pack.merkleRoot, pack.chunkCount, pack.createdAtMs, pack.state)
      const ins = this.#q(`INSERT OR IGNORE INTO chunks (share_id, chunk_id, pack_id, offset_bytes, sealed_bytes, plain_bytes) VALUES (?, ?, ?, ?, ?, ?)`)
      for (const c of chunks) {
        if (!bytesEqual(c.packId, pack.packId)) throw inputInvalid('chunk belongs to another pack')
        ins.run(pack.shareId, c.chunkId, c.packId, c.offsetBytes, c.sealedBytes, c.plainBytes)
      }
    })
  }

  #pack(r: Row): PackRecord {
    return decode(() => ({
      packId: asPackId(bytes(r.pack_id)),
      shareId: asShareId(bytes(r.share_id)),
      sizeBytes: num(r.size_bytes),
      merkleRoot: bytes(r.merkle_root),
      chunkCount: num(r.chunk_count),
      createdAtMs: num(r.created_at_ms),
      state: str(r.state) as PackState,
    }))
  }

  getPack(packId: PackId): PackRecord | null {
    const r = this.#q('SELECT * FROM packs WHERE pack_id = ?').get(packId) as Row | undefined
    return r ? this.#pack(r) : null
  }

  listPacks(shareId: ShareId): PackRecord[] {
    return (this.#q('SELECT * FROM packs WHERE share_id = ? ORDER BY created_at_ms, pack_id').all(shareId) as Row[]).map((r) => this.#pack(r))
  }

  setPackState(packId: PackId, state: PackState): void {
    this.#q('UPDATE packs SET state = ? WHERE pack_id = ?').run(state, packId)
  }

  setPackMerkleRoot(packId: PackId, merkleRoot: Uint8Array): void {
    this.#q('UPDATE packs SET merkle_root = ? WHERE pack_id = ?').run(merkleRoot, packId)
  }

  listChunksOfPack(packId: PackId): ChunkLocation[] {
    const rows = this.#q('SELECT chunk_id, offset_bytes, sealed_bytes, plain_bytes FROM chunks WHERE pack_id = ? ORDER BY offset_bytes').all(packId) as Row[]
    return rows.map((r) => decode(() => ({ chunkId: asChunkId(bytes(r.chunk_id)), packId, offsetBytes: num(r.offset_bytes), sealedBytes: num(r.sealed_bytes), plainBytes: num(r.plain_bytes) })))
  }

  findChunk(shareId: ShareId, chunkId: ChunkId): ChunkLocation | null {
    const r = this.#q('SELECT pack_id, offset_bytes, sealed_bytes, plain_bytes FROM chunks WHERE share_id = ? AND chunk_id = ?').get(shareId, chunkId) as Row | undefined
    if (!r) return null
    return decode(() => ({ chunkId, packId: asPackId(bytes(r.pack_id)), offsetBytes: num(r.offset_bytes), sealedBytes: num(r.sealed_bytes), plainBytes: num(r.plain_bytes) }))
  }

  listChunks(shareId: ShareId): ChunkLocation[] {
    const rows = this.#q('SELECT chunk_id, pack_id, offset_bytes, sealed_bytes, plain_bytes FROM chunks WHERE share_id = ? ORDER BY chunk_id').raw().all(shareId) as unknown[][]
    // Most chunks share a pack: one branded id per pack.
    const packs = new Map<string, PackId>()
    return decode(() =>
      rows.map(([chunkId, pack, offsetBytes, sealedBytes, plainBytes]) => {
        const p = bytes(pack)
        const hex = toHex(p)
        let packId = packs.get(hex)
        if (!packId) packs.set(hex, (packId = asPackId(p)))
        return { chunkId: asChunkId(bytes(chunkId)), packId, offsetBytes: num(offsetBytes), sealedBytes: num(sealedBytes), plainBytes: num(plainBytes) }
      }),
    )
  }

  countChunks(shareId: ShareId): number {
    return num((this.#q('SELECT count(*) AS n FROM chunks WHERE share_id = ?').get(shareId) as Row).n)
  }

  putFile(f: FileRecord): void {
    this.#q(`INSERT OR REPLACE INTO files (share_id, path, size_bytes, mtime_ms, inode, mode, chunk_ids) VALUES (?, ?, ?, ?, ?, ?, ?)`)
      .run(f.shareId, f.path, f.sizeBytes, f.mtimeMs, f.inode, f.mode, concatBytes(f.chunkIds))
  }

  #file(r: Row): FileRecord {
    return decode(() => ({
      shareId: asShareId(bytes(r.share_id)),
      path: str(r.path),
      sizeBytes: num(r.size_bytes),
      mtimeMs: num(r.mtime_ms),
      inode: num(r.inode),
      mode: num(r.mode),
      chunkIds: splitIds(bytes(r.chunk_ids)),
    }))
  }

  getFile(shareId: ShareId, path: string): FileRecord | null {
    const r = this.#q('SELECT * FROM files WHERE share_id = ? AND path = ?').get(shareId, path) as Row | undefined
    return r ? this.#file(r) : null
  }

  listFiles(shareId: ShareId): FileRecord[] {
    // Raw rows: a rescan of a large share starts with this.
    const rows = this.#q('SELECT path, size_bytes, mtime_ms, inode, mode, chunk_ids FROM files WHERE share_id = ? ORDER BY path').raw().all(shareId) as unknown[][]
    return decode(() =>
      rows.map(([path, sizeBytes, mtimeMs, inode, mode, ids]) => {
        return { shareId, path: str(path), sizeBytes: num(sizeBytes), mtimeMs: num(mtimeMs), inode: num(inode), mode: num(mode), chunkIds: splitIds(bytes(ids)) }
      }),
    )
  }

  deleteFile(shareId: ShareId, path: string): void {
    this.#q('DELETE FROM files WHERE share_id = ? AND path = ?').run(shareId, path)
  }

  listDirTrees(shareId: ShareId): DirTreeRecord[] {
    const rows = this.#q('SELECT path, mode, mtime_ms, entries, tree FROM dir_trees WHERE share_id = ? ORDER BY path').raw().all(shareId) as unknown[][]
    return decode(() =>
      rows.map(([path, mode, mtimeMs, entries, tree]) => {
        let refs: unknown
        try {
          refs = JSON.parse(str(tree))
        } catch {
          throw indexCorrupt('a folder manifest record does not parse')
        }
        return { path: str(path), mode: num(mode), mtimeMs: num(mtimeMs), entries: num(entries), tree: decodeRefs(refs, 'a folder manifest record') }
      }),
    )
  }

  replaceDirTrees(shareId: ShareId, trees: readonly DirTreeRecord[]): void {
    this.transaction(() => {
      this.#q('DELETE FROM dir_trees WHERE share_id = ?').run(shareId)
      const insert = this.#q('INSERT INTO dir_trees (share_id, path, mode, mtime_ms, entries, tree) VALUES (?, ?, ?, ?, ?, ?)')
      for (const d of trees) insert.run(shareId, d.path, d.mode, d.mtimeMs, d.entries, JSON.stringify(d.tree.map(encodeRef)))
    })
  }

  putManifestChunks(shareId: ShareId, chunks: ReadonlyArray<{ chunkId: ChunkId; bytes: Uint8Array }>): void {
    this.transaction(() => {
      const insert = this.#q('INSERT OR IGNORE INTO manifest_chunks (share_id, chunk_id, bytes) VALUES (?, ?, ?)')
      for (const c of chunks) insert.run(shareId, c.chunkId, c.bytes)
    })
  }

  getManifestChunk(shareId: ShareId, chunkId: ChunkId): Uint8Array | null {
    const r = this.#q('SELECT bytes FROM manifest_chunks WHERE share_id = ? AND chunk_id = ?').get(shareId, chunkId) as Row | undefined
    return r ? decode(() => bytes(r.bytes)) : null
  }

  keepManifestChunks(shareId: ShareId, keep: readonly ChunkId[]): void {
    const wanted = new Set(keep.map(toHex))
    this.transaction(() => {
      const held = this.#q('SELECT chunk_id FROM manifest_chunks WHERE share_id = ?').raw().all(shareId) as unknown[][]
      const drop = this.#q('DELETE FROM manifest_chunks WHERE share_id = ? AND chunk_id = ?')
      for (const [id] of held) if (!wanted.has(toHex(bytes(id)))) drop.run(shareId, id)
    })
  }

  putSnapshot(s: SnapshotRecord): void {
    const x = s.summary
    this.#q(`INSERT OR REPLACE INTO snapshots (share_id, seq, created_at_ms, file_count, total_bytes, summary) VALUES (?, ?, ?, ?, ?, ?)`)
      .run(s.shareId, x.seq, x.createdAtMs, x.fileCount, x.totalBytes, JSON.stringify(summaryToJson(x)))
  }

  listSnapshots(shareId: ShareId): SnapshotRecord[] {
    return (this.#q('SELECT share_id, summary FROM snapshots WHERE share_id = ? ORDER BY seq').all(shareId) as Row[]).map((r) =>
      decode(() => ({ shareId: asShareId(bytes(r.share_id)), summary: summaryFromJson(JSON.parse(str(r.summary)), 'stored snapshot') })),
    )
  }

  addShare(x: ShareRecord): void {
    try {
      this.#q(`INSERT INTO shares (share_id, name, path, copies, schedule, watch, wrapped_key, pointer_seq, pending_backup, last_backup_ms, last_result, created_at_ms)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(x.shareId, x.name, x.path, x.copies, x.schedule, x.watch ? 1 : 0, x.wrappedKey, x.pointerSeq, x.pendingBackup ? 1 : 0, x.lastBackupMs, x.lastResult, x.createdAtMs)
    } catch (err) {
      if (err instanceof Database.SqliteError && err.code.startsWith('SQLITE_CONSTRAINT')) throw inputInvalid(`a share named "${x.name}" (or with its id) exists already`)
      throw err
    }
  }

  #share(r: Row): ShareRecord {
    return decode(() => ({
      shareId: asShareId(bytes(r.share_id)),
      name: str(r.name),
      path: r.path === null ? null : str(r.path),
      copies: num(r.copies),
      schedule: r.schedule === null ? null : str(r.schedule),
      watch: num(r.watch) === 1,
      wrappedKey: r.wrapped_key === null ? null : bytes(r.wrapped_key),
      pointerSeq: num(r.pointer_seq),
      pendingBackup: num(r.pending_backup) === 1,
      lastBackupMs: r.last_backup_ms === null ? null : num(r.last_backup_ms),
      lastResult: r.last_result === null ? null : str(r.last_result),
      createdAtMs: num(r.created_at_ms),
    }))
  }

  getShare(name: string): ShareRecord | null {
    const r = this.#q('SELECT * FROM shares WHERE name = ?').get(name) as Row | undefined
    return r ? this.#share(r) : null
  }

  listShares(): ShareRecord[] {
    return (this.#q('SELECT * FROM shares ORDER BY name').all() as Row[]).map((r) => this.#share(r))
  }

  updateShare(shareId: ShareId, fields: Partial<Omit<ShareRecord, 'shareId' | 'createdAtMs'>>): void {
    const cols: Record<string, string> = { name: 'name', path: 'path', copies: 'copies', schedule: 'schedule', watch: 'watch', wrappedKey: 'wrapped_key', pointerSeq: 'pointer_seq', pendingBackup: 'pending_backup', lastBackupMs: 'last_backup_ms', lastResult: 'last_result' }
    const entries = Object.entries(fields).filter(([k, v]) => v !== undefined && cols[k])
    if (entries.length === 0) return
    const sql = `UPDATE shares SET ${entries.map(([k]) => `${cols[k]} = ?`).join(', ')} WHERE share_id = ?`
    const values = entries.map(([, v]) => (typeof v === 'boolean' ? (v ? 1 : 0) : v))
    this.#q(sql).run(...values, shareId)
  }

  removeShare(shareId: ShareId): void {
    this.transaction(() => {
      this.#q('DELETE FROM files WHERE share_id = ?').run(shareId)
      this.#q('DELETE FROM dir_trees WHERE share_id = ?').run(shareId)
      this.#q('DELETE FROM manifest_chunks WHERE share_id = ?').run(shareId)
      this.#q('DELETE FROM snapshots WHERE share_id = ?').run(shareId)
      this.#q('DELETE FROM shares WHERE share_id = ?').run(shareId)
    })
  }

  upsertPeer(p: PeerRecord): void {
    const a = p.audit
    this.#q(`INSERT INTO peers (node_id, url, cert_fingerprint, first_seen_ms, last_seen_ms, state, audits_passed, audits_failed, consecutive_failures, last_audit_ms, last_audit_ok_ms, score)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (node_id) DO UPDATE SET url = excluded.url, cert_fingerprint = excluded.cert_fingerprint,
               last_seen_ms = excluded.last_seen_ms, state = excluded.state`)
      .run(p.nodeId, p.url, p.certFingerprint, p.firstSeenMs, p.lastSeenMs, p.state, a.passed, a.failed, a.consecutiveFailures, a.lastMs, a.lastOkMs, a.score)
  }

  updatePeer(nodeId: NodeId, fields: Partial<Pick<PeerRecord, 'state' | 'audit'>>): void {
    const sets: string[] = []
    const values: unknown[] = []
    if (fields.state !== undefined) {
      sets.push('state = ?')
      values.push(fields.state)
    }
    if (fields.audit !== undefined) {
      const a = fields.audit
      sets.push('audits_passed = ?', 'audits_failed = ?', 'consecutive_failures = ?', 'last_audit_ms = ?', 'last_audit_ok_ms = ?', 'score = ?')
      values.push(a.passed, a.failed, a.consecutiveFailures, a.lastMs, a.lastOkMs, a.score)
    }
    if (sets.length > 0) this.#q(`UPDATE peers SET ${sets.join(', ')} WHERE node_id = ?`).run(...values, nodeId)
  }

  #peer(r: Row): PeerRecord {
    return decode(() => ({
      nodeId: asNodeId(bytes(r.node_id)),
      url: str(r.url),
      certFingerprint: bytes(r.cert_fingerprint),
      firstSeenMs: num(r.first_seen_ms),
      lastSeenMs: num(r.last_seen_ms),
      state: str(r.state) as PeerRecord['state'],
      audit: {
        passed: num(r.audits_passed),
        failed: num(r.audits_failed),
        consecutiveFailures: num(r.consecutive_failures),
        lastMs: r.last_audit_ms === null ? null : num(r.last_audit_ms),
        lastOkMs: r.last_audit_ok_ms === null ? null : num(r.last_audit_ok_ms),
        score: num(r.score),
      },
    }))
  }

  getPeer(nodeId: NodeId): PeerRecord | null {
    const r = this.#q('SELECT * FROM peers WHERE node_id = ?').get(nodeId) as Row | undefined
    return r ? this.#peer(r) : null
  }

  listPeers(): PeerRecord[] {
    return (this.#q('SELECT * FROM peers ORDER BY first_seen_ms, node_id').all() as Row[]).map((r) => this.#peer(r))
  }

  putReplica(x: ReplicaRecord): void {
    this.#q(`INSERT OR REPLACE INTO replicas (pack_id, node_id, receipt, stored_at_ms, merkle_root, last_audit_ms, status, failures) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(x.packId, x.nodeId, x.receipt, x.storedAtMs, x.merkleRoot, x.lastAuditMs, x.status, x.failures)
  }

  updateReplica(packId: PackId, nodeId: NodeId, fields: Partial<Pick<ReplicaRecord, 'status' | 'lastAuditMs' | 'failures'>>): void {
    const cols: Record<string, string> = { status: 'status', lastAuditMs: 'last_audit_ms', failures: 'failures' }
    const entries = Object.entries(fields).filter(([k, v]) => v !== undefined && cols[k])
    if (entries.length === 0) return
    this.#q(`UPDATE replicas SET ${entries.map(([k]) => `${cols[k]} = ?`).join(', ')} WHERE pack_id = ? AND node_id = ?`).run(...entries.map(([, v]) => v), packId, nodeId)
  }

  listReplicas(packId: PackId): ReplicaRecord[] {
    return (this.#q('SELECT * FROM replicas WHERE pack_id = ? ORDER BY node_id').all(packId) as Row[]).map((r) => this.#replica(r))
  }

  listReplicasOfShare(shareId: ShareId): ReplicaRecord[] {
    return (this.#q('SELECT r.* FROM replicas r JOIN packs p ON p.pack_id = r.pack_id WHERE p.share_id = ? ORDER BY r.pack_id, r.node_id').all(shareId) as Row[]).map((r) => this.#replica(r))
  }

  #replica(r: Row): ReplicaRecord {
    return decode(() => ({
        packId: asPackId(bytes(r.pack_id)),
        nodeId: asNodeId(bytes(r.node_id)),
        receipt: bytes(r.receipt),
        storedAtMs: num(r.stored_at_ms),
        merkleRoot: bytes(r.merkle_root),
        lastAuditMs: r.last_audit_ms === null ? null : num(r.last_audit_ms),
        status: str(r.status) as ReplicaRecord['status'],
        failures: num(r.failures),
      }))
  }
}
