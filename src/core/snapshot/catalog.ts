import { inputInvalid } from '../errors.js'
import { asNodeId, asPackId, type NodeId, type PackId } from '../ids.js'
import { fromHex, toHex } from '../../shared/bytes.js'
import { decodeRefs, encodeRef, type ChunkRef } from './chunk-ref.js'

export const CATALOG_FORMAT_VERSION = 1
const MAX_SKIPPED = 100

/** A peer as the owner's documents name it: enough to reach and pin it again after a disaster. */
export interface PeerRef {
  nodeId: NodeId
  url: string
  certSha256: Uint8Array
}

export interface SkippedFile {
  path: string
  reason: string
}

/** One snapshot of a share: its root manifest and what the run saw. */
export interface SnapshotSummary {
  seq: number
  createdAtMs: number
  root: ChunkRef[]
  fileCount: number
  dirCount: number
  totalBytes: number
  /** Files left out of this snapshot and why (at most 100 listed). */
  skipped: SkippedFile[]
}

/** Where a pack's copies were at the time of writing: indices into `peers`. */
export interface PackPlacement {
  packId: PackId
  sizeBytes: number
  merkleRoot: Uint8Array
  peers: number[]
}

/**
 * A share's catalog (docs/FORMAT.md §11): every snapshot and where each pack's copies are. It is
 * chunked and encrypted like data; the share pointer names its chunks. Recovery reads it to list
 * snapshots and to know which peers to ask for which pack.
 */
export interface ShareCatalog {
  snapshots: SnapshotSummary[]
  peers: PeerRef[]
  packs: PackPlacement[]
}

/** The peers in order, each node once (the first mention wins). */
export function uniquePeers<T extends { nodeId: Uint8Array }>(peers: readonly T[]): T[] {
  const seen = new Set<string>()
  return peers.filter((p) => {
    const hex = toHex(p.nodeId)
    return seen.has(hex) ? false : (seen.add(hex), true)
  })
}

export const peerRefToJson = (p: PeerRef) => ({ id: toHex(p.nodeId), url: p.url, cert: toHex(p.certSha256) })

export function peerRefFromJson(v: unknown, where: string): PeerRef {
  const o = v as Record<string, unknown>
  const id = typeof o?.id === 'string' ? fromHex(o.id) : null
  const cert = typeof o?.cert === 'string' ? fromHex(o.cert) : null
  if (!id || id.length !== 32 || !cert || cert.length !== 32 || typeof o.url !== 'string' || !/^https:\/\/[^\s/]{1,200}$/.test(o.url)) throw inputInvalid(`${where}: malformed peer`)
  return { nodeId: asNodeId(id), url: o.url, certSha256: cert }
}

export const summaryToJson = (s: SnapshotSummary) => ({ seq: s.seq, at: s.createdAtMs, root: s.root.map(encodeRef), files: s.fileCount, dirs: s.dirCount, bytes: s.totalBytes, skipped: s.skipped.slice(0, MAX_SKIPPED) })

function int(v: unknown, where: string): number {
  if (!Number.isSafeInteger(v) || (v as number) < 0) throw inputInvalid(`${where} is not a non-negative integer`)
  return v as number
}

export function summaryFromJson(v: unknown, where: string): SnapshotSummary {
  const o = v as Record<string, unknown>
  if (typeof o !== 'object' || o === null || !Array.isArray(o.skipped)) throw inputInvalid(`${where} is not a snapshot`)
  const root = decodeRefs(o.root, `${where} root`)
  if (root.length === 0) throw inputInvalid(`${where} has no root manifest`)
  return {
    seq: int(o.seq, `${where} seq`),
    createdAtMs: int(o.at, `${where} time`),
    root,
    fileCount: int(o.files, `${where} files`),
    dirCount: int(o.dirs, `${where} dirs`),
    totalBytes: int(o.bytes, `${where} bytes`),
    skipped: o.skipped.slice(0, MAX_SKIPPED).map((s: Record<string, unknown>) => ({ path: String(s?.path ?? '').slice(0, 4096), reason: String(s?.reason ?? '').slice(0, 500) })),
  }
}

export function encodeCatalog(c: ShareCatalog): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({
      v: CATALOG_FORMAT_VERSION,
      snapshots: c.snapshots.map(summaryToJson),
      peers: c.peers.map(peerRefToJson),
      packs: c.packs.map((p) => [toHex(p.packId), p.sizeBytes, toHex(p.merkleRoot), p.peers]),
    }),
  )
}

export function decodeCatalog(bytes: Uint8Array): ShareCatalog {
  let doc: Record<string, unknown>
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch {
    throw inputInvalid('the share catalog is not valid JSON')
  }
  if (doc?.v !== CATALOG_FORMAT_VERSION || !Array.isArray(doc.snapshots) || !Array.isArray(doc.peers) || !Array.isArray(doc.packs)) throw inputInvalid('the share catalog has an unknown format')
  const peers = doc.peers.map((p, i) => peerRefFromJson(p, `catalog peer ${i}`))
  return {
    snapshots: doc.snapshots.map((s, i) => summaryFromJson(s, `catalog snapshot ${i}`)),
    peers,
    packs: doc.packs.map((p: unknown, i) => {
      const a = p as unknown[]
      const id = Array.isArray(a) && typeof a[0] === 'string' ? fromHex(a[0]) : null
      const root = Array.isArray(a) && typeof a[2] === 'string' ? fromHex(a[2]) : null
      const idx = Array.isArray(a) ? a[3] : null
      if (!id || id.length !== 32 || !root || root.length !== 32 || !Array.isArray(idx) || !idx.every((k) => Number.isInteger(k) && k >= 0 && k < peers.length)) throw inputInvalid(`catalog pack ${i} is malformed`)
      return { packId: asPackId(id), sizeBytes: int(a[1], `catalog pack ${i} size`), merkleRoot: root, peers: idx as number[] }
    }),
  }
}
