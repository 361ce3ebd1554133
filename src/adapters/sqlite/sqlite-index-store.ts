import Database from 'better-sqlite3'
import type {
  ChunkLocation, FileRecord, IndexStore, PackRecord, PackState, PeerRecord, ReplicaRecord, SnapshotRecord,
} from '../../core/ports/index-store.js'
import { asChunkId, asNodeId, asPackId, asShareId, type ChunkId, type NodeId, type PackId, type ShareId } from '../../core/ids.js'
import { closed, indexCorrupt, inputInvalid, isBackupError } from '../../core/errors.js'
import { bytesEqual, concatBytes } from '../../shared/bytes.js'
import { Resource } from '../../shared/resource.js'
import { migrate } from './migrate.js'

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

function splitIds(blob: Uint8Array): ChunkId[] {
  const out: ChunkId[] = []
  for (let at = 0; at < blob.length; at += 32) out.push(asChunkId(blob.slice(at, at + 32)))
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

  findChunk(shareId: ShareId, chunkId: ChunkId): ChunkLocation | null {
    const r = this.#q('SELECT pack_id, offset_bytes, sealed_bytes, plain_bytes FROM chunks WHERE share_id = ? AND chunk_id = ?').get(shareId, chunkId) as Row | undefined
    if (!r) return null
    return decode(() => ({ chunkId, packId: asPackId(bytes(r.pack_id)), offsetBytes: num(r.offset_bytes), sealedBytes: num(r.sealed_bytes), plainBytes: num(r.plain_bytes) }))
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
    return (this.#q('SELECT * FROM files WHERE share_id = ? ORDER BY path').all(shareId) as Row[]).map((r) => this.#file(r))
  }

  deleteFile(shareId: ShareId, path: string): void {
    this.#q('DELETE FROM files WHERE share_id = ? AND path = ?').run(shareId, path)
  }

  addSnapshot(s: SnapshotRecord): void {
    try {
      this.#q(`INSERT INTO snapshots (snapshot_id, share_id, seq, created_at_ms, root_chunk_id, file_count, total_bytes) VALUES (?, ?, ?, ?, ?, ?, ?)`)
        .run(s.snapshotId, s.shareId, s.seq, s.createdAtMs, s.rootChunkId, s.fileCount, s.totalBytes)
    } catch (err) {
      if (err instanceof Database.SqliteError && err.code.startsWith('SQLITE_CONSTRAINT')) throw inputInvalid('snapshot or its sequence number is already recorded')
      throw err
    }
  }

  listSnapshots(shareId: ShareId): SnapshotRecord[] {
    return (this.#q('SELECT * FROM snapshots WHERE share_id = ? ORDER BY seq').all(shareId) as Row[]).map((r) =>
      decode(() => ({
        snapshotId: bytes(r.snapshot_id),
        shareId: asShareId(bytes(r.share_id)),
        seq: num(r.seq),
        createdAtMs: num(r.created_at_ms),
        rootChunkId: asChunkId(bytes(r.root_chunk_id)),
        fileCount: num(r.file_count),
        totalBytes: num(r.total_bytes),
      })),
    )
  }

  upsertPeer(p: PeerRecord): void {
    this.#q(`INSERT INTO peers (node_id, url, cert_fingerprint, first_seen_ms, last_seen_ms, state) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (node_id) DO UPDATE SET url = excluded.url, cert_fingerprint = excluded.cert_fingerprint,
               last_seen_ms = excluded.last_seen_ms, state = excluded.state`)
      .run(p.nodeId, p.url, p.certFingerprint, p.firstSeenMs, p.lastSeenMs, p.state)
  }

  #peer(r: Row): PeerRecord {
    return decode(() => ({
      nodeId: asNodeId(bytes(r.node_id)),
      url: str(r.url),
      certFingerprint: bytes(r.cert_fingerprint),
      firstSeenMs: num(r.first_seen_ms),
      lastSeenMs: num(r.last_seen_ms),
      state: str(r.state) as PeerRecord['state'],
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
    this.#q(`INSERT OR REPLACE INTO replicas (pack_id, node_id, receipt, stored_at_ms, last_audit_ms, status) VALUES (?, ?, ?, ?, ?, ?)`)
      .run(x.packId, x.nodeId, x.receipt, x.storedAtMs, x.lastAuditMs, x.status)
  }

  listReplicas(packId: PackId): ReplicaRecord[] {
    return (this.#q('SELECT * FROM replicas WHERE pack_id = ? ORDER BY node_id').all(packId) as Row[]).map((r) =>
      decode(() => ({
        packId: asPackId(bytes(r.pack_id)),
        nodeId: asNodeId(bytes(r.node_id)),
        receipt: bytes(r.receipt),
        storedAtMs: num(r.stored_at_ms),
        lastAuditMs: r.last_audit_ms === null ? null : num(r.last_audit_ms),
        status: str(r.status) as ReplicaRecord['status'],
      })),
    )
  }
}
