import type { ChunkId, NodeId, PackId, ShareId } from '../ids.js'
import type { ChunkRef, SnapshotSummary } from '../snapshot/index.js'

/** Where one sealed chunk lives: its pack and byte range inside the pack. */
export interface ChunkLocation {
  chunkId: ChunkId
  packId: PackId
  /** Offset of the chunk's envelope inside the pack. */
  offsetBytes: number
  /** Length of the envelope (header + ciphertext + tag). */
  sealedBytes: number
  /** Length of the plaintext chunk. */
  plainBytes: number
}

export type PackState = 'spooled' | 'replicating' | 'replicated'

export interface PackRecord {
  packId: PackId
  shareId: ShareId
  sizeBytes: number
  /** Merkle root over the pack's 4 KiB leaves, kept for audits. */
  merkleRoot: Uint8Array
  chunkCount: number
  createdAtMs: number
  state: PackState
}

export interface FileRecord {
  shareId: ShareId
  /** Share-relative POSIX path, NFC as read from disk. */
  path: string
  sizeBytes: number
  mtimeMs: number
  inode: number
  mode: number
  chunkIds: readonly ChunkId[]
}

/** A folder's manifest as the share's last snapshot run wrote it (what a rescan may reuse). */
export interface DirTreeRecord {
  /** Share-relative folder path; '' is the share's root. */
  path: string
  /** The folder's own permission bits and mtime then (0 for the root). */
  mode: number
  mtimeMs: number
  /** How many entries the manifest lists. */
  entries: number
  /** The manifest's chunks. */
  tree: ChunkRef[]
}

export interface SnapshotRecord {
  shareId: ShareId
  /** What the snapshot holds: its root manifest's chunks, counts, skipped files. */
  summary: SnapshotSummary
}

/** A protected share, or (path null, wrappedKey set) one imported from a friend's share key. */
export interface ShareRecord {
  shareId: ShareId
  name: string
  path: string | null
  copies: number
  schedule: string | null
  watch: boolean
  /** Imported shares only: the share key sealed under the owner's import key. */
  wrappedKey: Uint8Array | null
  /** Sequence of the newest share pointer this node wrote or read. */
  pointerSeq: number
  /** A backup was asked for and has not finished (survives a crash or restart). */
  pendingBackup: boolean
  lastBackupMs: number | null
  /** 'complete', 'degraded' or a failure code, of the last backup run. */
  lastResult: string | null
  createdAtMs: number
}

/** active: takes new packs; failing: kept failing audits, takes none; blocked: the owner said no. */
export type PeerState = 'active' | 'failing' | 'blocked'

/** A peer's audit history as the owner saw it. */
export interface PeerAudit {
  passed: number
  failed: number
  consecutiveFailures: number
  lastMs: number | null
  lastOkMs: number | null
  /** 0..1, a moving average of audit outcomes (1 = every recent audit passed). */
  score: number
}

export const NEW_PEER_AUDIT: Readonly<PeerAudit> = Object.freeze({ passed: 0, failed: 0, consecutiveFailures: 0, lastMs: null, lastOkMs: null, score: 1 })

export interface PeerRecord {
  nodeId: NodeId
  url: string
  certFingerprint: Uint8Array
  firstSeenMs: number
  lastSeenMs: number
  state: PeerState
  audit: PeerAudit
}

/** stored: receipt only; healthy: passed its last audit; bad: a wrong, late or no answer; lost: the peer says it has none. */
export type ReplicaStatus = 'stored' | 'healthy' | 'bad' | 'lost'

export interface ReplicaRecord {
  packId: PackId
  nodeId: NodeId
  /** The storage node's signed receipt, as received. */
  receipt: Uint8Array
  storedAtMs: number
  /** The Merkle root of the bytes this peer holds (from its receipt). */
  merkleRoot: Uint8Array
  lastAuditMs: number | null
  status: ReplicaStatus
  /** Audits failed in a row. */
  failures: number
}

/**
 * The owner's local index. Synchronous: the only production adapter is SQLite in-process, and
 * the hot path (dedupe lookups) must not pay for a promise per chunk.
 * - addPack() records a pack and all its chunk locations atomically: either all or none.
 * - A chunk id is unique per share (ids are keyed per share); adding a known one is a no-op.
 * - findChunk() returns null when absent; it never throws for a missing id.
 * - putFile() replaces the record for (shareId, path).
 * - transaction(fn) runs fn atomically; nested calls join the outer transaction.
 * - putSnapshot() replaces the snapshot with the same (shareId, seq); listSnapshots() is by seq.
 * - addShare() refuses a name or id in use with INPUT_INVALID; updateShare() changes only the
 *   fields given; removeShare() forgets the share, its file records, folder manifests, manifest
 *   chunks and snapshots (packs stay).
 * - replaceDirTrees() replaces all of a share's folder manifests at once ([] clears them).
 * - putManifestChunks() keeps the plaintext of manifest chunks by chunk id (a known id is left as
 *   it is); getManifestChunk() returns null when absent; keepManifestChunks() forgets those of
 *   the share not named (removeShare() forgets them all).
 * - upsertPeer() inserts a peer with the audit history given, or updates url, certificate,
 *   last-seen and state of a known one (its first-seen time and audit history stay);
 *   updatePeer() changes only the fields given.
 * - listReplicasOfShare() returns the replicas of every pack of the share; updateReplica()
 *   changes only the fields given of an existing replica (no-op when there is none).
 * - Methods MUST reject with CLOSED after close(), and with INDEX_CORRUPT when stored rows do not
 *   decode.
 */
export interface IndexStore {
  open(): Promise<void>
  close(): Promise<void>
  transaction<T>(fn: () => T): T

  addPack(pack: PackRecord, chunks: readonly ChunkLocation[]): void
  getPack(packId: PackId): PackRecord | null
  listPacks(shareId: ShareId): PackRecord[]
  setPackState(packId: PackId, state: PackState): void
  /** A pack rebuilt from its source files has new nonces, hence a new root. */
  setPackMerkleRoot(packId: PackId, merkleRoot: Uint8Array): void
  /** The chunks of one pack, by offset. */
  listChunksOfPack(packId: PackId): ChunkLocation[]
  findChunk(shareId: ShareId, chunkId: ChunkId): ChunkLocation | null
  /** Every chunk of a share, by chunk id: one read instead of a findChunk per chunk. */
  listChunks(shareId: ShareId): ChunkLocation[]
  countChunks(shareId: ShareId): number

  putFile(file: FileRecord): void
  getFile(shareId: ShareId, path: string): FileRecord | null
  listFiles(shareId: ShareId): FileRecord[]
  deleteFile(shareId: ShareId, path: string): void

  /** The share's folder manifests, by path. */
  listDirTrees(shareId: ShareId): DirTreeRecord[]
  replaceDirTrees(shareId: ShareId, trees: readonly DirTreeRecord[]): void

  /** Manifest chunks kept locally (their plaintext): a restore need not fetch them from peers. */
  putManifestChunks(shareId: ShareId, chunks: ReadonlyArray<{ chunkId: ChunkId; bytes: Uint8Array }>): void
  getManifestChunk(shareId: ShareId, chunkId: ChunkId): Uint8Array | null
  keepManifestChunks(shareId: ShareId, keep: readonly ChunkId[]): void

  putSnapshot(snapshot: SnapshotRecord): void
  listSnapshots(shareId: ShareId): SnapshotRecord[]

  addShare(share: ShareRecord): void
  getShare(name: string): ShareRecord | null
  listShares(): ShareRecord[]
  updateShare(shareId: ShareId, fields: Partial<Omit<ShareRecord, 'shareId' | 'createdAtMs'>>): void
  removeShare(shareId: ShareId): void

  upsertPeer(peer: PeerRecord): void
  getPeer(nodeId: NodeId): PeerRecord | null
  listPeers(): PeerRecord[]
  updatePeer(nodeId: NodeId, fields: Partial<Pick<PeerRecord, 'state' | 'audit'>>): void

  putReplica(replica: ReplicaRecord): void
  listReplicas(packId: PackId): ReplicaRecord[]
  listReplicasOfShare(shareId: ShareId): ReplicaRecord[]
  updateReplica(packId: PackId, nodeId: NodeId, fields: Partial<Pick<ReplicaRecord, 'status' | 'lastAuditMs' | 'failures'>>): void
}
