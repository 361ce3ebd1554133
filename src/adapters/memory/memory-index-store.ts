import type {
  ChunkLocation, DirTreeRecord, FileRecord, IndexStore, PackRecord, PackState, PeerRecord, ReplicaRecord, ShareRecord, SnapshotRecord,
} from '../../core/ports/index-store.js'
import type { ChunkId, NodeId, PackId, ShareId } from '../../core/ids.js'
import { closed, inputInvalid } from '../../core/errors.js'
import { bytesEqual, toHex } from '../../shared/bytes.js'

interface Tables {
  packs: Map<string, PackRecord>
  chunks: Map<string, ChunkLocation>
  files: Map<string, FileRecord>
  snapshots: Map<string, SnapshotRecord>
  peers: Map<string, PeerRecord>
  replicas: Map<string, ReplicaRecord>
  shares: Map<string, ShareRecord>
  dirTrees: Map<string, DirTreeRecord[]>
  /** share hex → chunk hex → plaintext */
  manifestChunks: Map<string, Map<string, Uint8Array>>
}

const key = (...parts: Array<Uint8Array | string>) => parts.map((p) => (typeof p === 'string' ? p : toHex(p))).join('\u0000')
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

function copyTables(t: Tables): Tables {
  return {
    packs: new Map(t.packs), chunks: new Map(t.chunks), files: new Map(t.files),
    snapshots: new Map(t.snapshots), peers: new Map(t.peers), replicas: new Map(t.replicas), shares: new Map(t.shares),
    dirTrees: new Map(t.dirTrees),
    manifestChunks: new Map([...t.manifestChunks].map(([k, m]) => [k, new Map(m)])),
  }
}

/** IndexStore in memory, for tests and --dry-run. Transactions roll back by restoring a copy. */
export class MemoryIndexStore implements IndexStore {
  #t: Tables = { packs: new Map(), chunks: new Map(), files: new Map(), snapshots: new Map(), peers: new Map(), replicas: new Map(), shares: new Map(), dirTrees: new Map(), manifestChunks: new Map() }
  #depth = 0
  #closed = false

  async open(): Promise<void> {}
  async close(): Promise<void> {
    this.#closed = true
  }

  #live(): Tables {
    if (this.#closed) throw closed('index')
    return this.#t
  }

  transaction<T>(fn: () => T): T {
    const before = this.#depth === 0 ? copyTables(this.#live()) : null
    this.#depth++
    try {
      return fn()
    } catch (err) {
      if (before) this.#t = before
      throw err
    } finally {
      this.#depth--
    }
  }

  addPack(pack: PackRecord, chunks: readonly ChunkLocation[]): void {
    if (chunks.length !== pack.chunkCount) throw inputInvalid('pack chunk count does not match its chunks')
    this.transaction(() => {
      const t = this.#live()
      if (!t.packs.has(key(pack.packId))) t.packs.set(key(pack.packId), { ...pack })
      for (const c of chunks) {
        if (!bytesEqual(c.packId, pack.packId)) throw inputInvalid('chunk belongs to another pack')
        const k = key(pack.shareId, c.chunkId)
        if (!t.chunks.has(k)) t.chunks.set(k, { ...c })
      }
    })
  }

  getPack(packId: PackId): PackRecord | null {
    const p = this.#live().packs.get(key(packId))
    return p ? { ...p } : null
  }

  listPacks(shareId: ShareId): PackRecord[] {
    return [...this.#live().packs.values()]
      .filter((p) => bytesEqual(p.shareId, shareId))
      .sort((a, b) => a.createdAtMs - b.createdAtMs || cmp(toHex(a.packId), toHex(b.packId)))
      .map((p) => ({ ...p }))
  }

  setPackState(packId: PackId, state: PackState): void {
    const p = this.#live().packs.get(key(packId))
    if (p) p.state = state
  }

  setPackMerkleRoot(packId: PackId, merkleRoot: Uint8Array): void {
    const p = this.#live().packs.get(key(packId))
    if (p) p.merkleRoot = merkleRoot.slice()
  }

  listChunksOfPack(packId: PackId): ChunkLocation[] {
    return [...this.#live().chunks.values()].filter((c) => bytesEqual(c.packId, packId)).sort((a, b) => a.offsetBytes - b.offsetBytes).map((c) => ({ ...c }))
  }

  findChunk(shareId: ShareId, chunkId: ChunkId): ChunkLocation | null {
    const c = this.#live().chunks.get(key(shareId, chunkId))
    return c ? { ...c } : null
  }

  listChunks(shareId: ShareId): ChunkLocation[] {
    const prefix = key(shareId) + '\u0000'
    return [...this.#live().chunks]
      .filter(([k]) => k.startsWith(prefix))
      .sort(([a], [b]) => cmp(a, b))
      .map(([, c]) => ({ ...c }))
  }

  countChunks(shareId: ShareId): number {
    const prefix = key(shareId) + '\u0000'
    let n = 0
    for (const k of this.#live().chunks.keys()) if (k.startsWith(prefix)) n++
    return n
  }

  putFile(file: FileRecord): void {
    this.#live().files.set(key(file.shareId, file.path), { ...file, chunkIds: [...file.chunkIds] })
  }

  getFile(shareId: ShareId, path: string): FileRecord | null {
    const f = this.#live().files.get(key(shareId, path))
    return f ? { ...f, chunkIds: [...f.chunkIds] } : null
  }

  listFiles(shareId: ShareId): FileRecord[] {
    return [...this.#live().files.values()]
      .filter((f) => bytesEqual(f.shareId, shareId))
      .sort((a, b) => cmp(a.path, b.path))
      .map((f) => ({ ...f, chunkIds: [...f.chunkIds] }))
  }

  deleteFile(shareId: ShareId, path: string): void {
    this.#live().files.delete(key(shareId, path))
  }

  putSnapshot(snapshot: SnapshotRecord): void {
    this.#live().snapshots.set(key(snapshot.shareId, String(snapshot.summary.seq)), structuredClone(snapshot))
  }

  listSnapshots(shareId: ShareId): SnapshotRecord[] {
    return [...this.#live().snapshots.values()]
      .filter((s) => bytesEqual(s.shareId, shareId))
      .sort((a, b) => a.summary.seq - b.summary.seq)
      .map((s) => structuredClone(s))
  }

  addShare(share: ShareRecord): void {
    const t = this.#live()
    for (const s of t.shares.values()) {
      if (s.name === share.name || bytesEqual(s.shareId, share.shareId)) throw inputInvalid(`a share named "${share.name}" (or with its id) exists already`)
    }
    t.shares.set(key(share.shareId), { ...share })
  }

  getShare(name: string): ShareRecord | null {
    const s = [...this.#live().shares.values()].find((x) => x.name === name)
    return s ? { ...s } : null
  }

  listShares(): ShareRecord[] {
    return [...this.#live().shares.values()].sort((a, b) => cmp(a.name, b.name)).map((s) => ({ ...s }))
  }

  updateShare(shareId: ShareId, fields: Partial<Omit<ShareRecord, 'shareId' | 'createdAtMs'>>): void {
    const t = this.#live()
    const s = t.shares.get(key(shareId))
    if (!s) return
    const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined))
    t.shares.set(key(shareId), { ...s, ...defined })
  }

  removeShare(shareId: ShareId): void {
    this.transaction(() => {
      const t = this.#live()
      for (const [k, f] of t.files) if (bytesEqual(f.shareId, shareId)) t.files.delete(k)
      for (const [k, s] of t.snapshots) if (bytesEqual(s.shareId, shareId)) t.snapshots.delete(k)
      t.shares.delete(key(shareId))
      t.dirTrees.delete(key(shareId))
      t.manifestChunks.delete(key(shareId))
    })
  }

  listDirTrees(shareId: ShareId): DirTreeRecord[] {
    const trees = this.#live().dirTrees.get(key(shareId)) ?? []
    return trees.map((d) => ({ ...d, tree: d.tree.map((r) => ({ ...r })) })).sort((a, b) => cmp(a.path, b.path))
  }

  replaceDirTrees(shareId: ShareId, trees: readonly DirTreeRecord[]): void {
    this.#live().dirTrees.set(key(shareId), trees.map((d) => ({ ...d, tree: d.tree.map((r) => ({ ...r })) })))
  }

  putManifestChunks(shareId: ShareId, chunks: ReadonlyArray<{ chunkId: ChunkId; bytes: Uint8Array }>): void {
    const t = this.#live()
    const held = t.manifestChunks.get(key(shareId)) ?? new Map<string, Uint8Array>()
    t.manifestChunks.set(key(shareId), held)
    for (const c of chunks) if (!held.has(toHex(c.chunkId))) held.set(toHex(c.chunkId), c.bytes.slice())
  }

  getManifestChunk(shareId: ShareId, chunkId: ChunkId): Uint8Array | null {
    return this.#live().manifestChunks.get(key(shareId))?.get(toHex(chunkId))?.slice() ?? null
  }

  keepManifestChunks(shareId: ShareId, keep: readonly ChunkId[]): void {
    const held = this.#live().manifestChunks.get(key(shareId))
    const wanted = new Set(keep.map(toHex))
    for (const id of [...(held?.keys() ?? [])]) if (!wanted.has(id)) held?.delete(id)
  }

  upsertPeer(peer: PeerRecord): void {
    const t = this.#live()
    const old = t.peers.get(key(peer.nodeId))
    t.peers.set(key(peer.nodeId), old ? { ...peer, firstSeenMs: old.firstSeenMs, audit: old.audit } : { ...peer, audit: { ...peer.audit } })
  }

  updatePeer(nodeId: NodeId, fields: Partial<Pick<PeerRecord, 'state' | 'audit'>>): void {
    const t = this.#live()
    const old = t.peers.get(key(nodeId))
    if (old) t.peers.set(key(nodeId), { ...old, ...(fields.state !== undefined ? { state: fields.state } : {}), ...(fields.audit !== undefined ? { audit: { ...fields.audit } } : {}) })
  }

  getPeer(nodeId: NodeId): PeerRecord | null {
    const p = this.#live().peers.get(key(nodeId))
    return p ? { ...p, audit: { ...p.audit } } : null
  }

  listPeers(): PeerRecord[] {
    return [...this.#live().peers.values()]
      .sort((a, b) => a.firstSeenMs - b.firstSeenMs || cmp(toHex(a.nodeId), toHex(b.nodeId)))
      .map((p) => ({ ...p, audit: { ...p.audit } }))
  }

  putReplica(replica: ReplicaRecord): void {
    this.#live().replicas.set(key(replica.packId, replica.nodeId), { ...replica })
  }

  updateReplica(packId: PackId, nodeId: NodeId, fields: Partial<Pick<ReplicaRecord, 'status' | 'lastAuditMs' | 'failures'>>): void {
    const t = this.#live()
    const old = t.replicas.get(key(packId, nodeId))
    if (!old) return
    const defined = Object.fromEntries(Object.entries(fields).filter(([k, v]) => v !== undefined && ['status', 'lastAuditMs', 'failures'].includes(k)))
    t.replicas.set(key(packId, nodeId), { ...old, ...defined })
  }

  listReplicasOfShare(shareId: ShareId): ReplicaRecord[] {
    const t = this.#live()
    return [...t.replicas.values()]
      .filter((r) => {
        const p = t.packs.get(key(r.packId))
        return p !== undefined && bytesEqual(p.shareId, shareId)
      })
      .sort((a, b) => cmp(toHex(a.packId) + toHex(a.nodeId), toHex(b.packId) + toHex(b.nodeId)))
      .map((r) => ({ ...r }))
  }

  listReplicas(packId: PackId): ReplicaRecord[] {
    return [...this.#live().replicas.values()]
      .filter((r) => bytesEqual(r.packId, packId))
      .sort((a, b) => cmp(toHex(a.nodeId), toHex(b.nodeId)))
      .map((r) => ({ ...r }))
  }
}
