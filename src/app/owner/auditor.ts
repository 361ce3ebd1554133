import type { Sodium } from '../../core/ports/sodium.js'
import type { Clock } from '../../core/ports/clock.js'
import type { Logger } from '../../core/ports/logger.js'
import type { IndexStore, PackRecord, PeerRecord, ReplicaRecord, ReplicaStatus } from '../../core/ports/index-store.js'
import type { AuditAsk } from '../../core/ports/peer-client.js'
import { BackupError, isBackupError, rethrowIfBug } from '../../core/errors.js'
import { checkAuditAnswer, sampleLeafIndices, type MerkleProof } from '../../core/audit/index.js'
import { OWNERSHIP_BATCH } from '../../core/proofs/index.js'
import { nextPeerAudit, peerStateAfterAudit } from '../../core/replication/index.js'
import { toHex } from '../../shared/bytes.js'
import type { PeerPool } from './peer-pool.js'

/** Leaves drawn per object per audit: 16 objects × 4 leaves fit the protocol's 64 per request. */
export const LEAVES_PER_OBJECT = 4
const MAX_LEAVES_PER_REQUEST = 64

export interface AuditDeps {
  sodium: Sodium
  clock: Clock
  log: Logger
  index: IndexStore
  pool: PeerPool
  /** How long a peer has to answer one audit request. */
  deadlineMs: number
}

export interface PeerAuditResult {
  nodeId: string
  url: string
  checked: number
  passed: number
  failed: number
  /** Why the peer failed (the first reason), for the owner to read. */
  reason: string | null
  state: PeerRecord['state']
  score: number
}

export interface AuditRoundResult {
  startedAtMs: number
  finishedAtMs: number
  replicas: number
  passed: number
  failed: number
  peers: PeerAuditResult[]
}

interface Target {
  replica: ReplicaRecord
  pack: PackRecord
}

type Outcome = { status: ReplicaStatus; reason: string | null }

/**
 * Audit rounds (DESIGN §7): for every replica the index knows (except those already known lost),
 * the storage node must send leaves drawn from a fresh random seed, with their Merkle paths, within
 * the deadline; the answer is checked against the root the owner kept for that copy. A passing
 * replica is healthy; a wrong, late or missing answer makes it bad, and "I do not have it" makes it
 * lost. Each peer's history and score are updated once per round; a peer that keeps failing is
 * marked failing and gets no new packs. Every peer audited is also sent its lease renewal.
 */
export class Auditor {
  constructor(private readonly deps: AuditDeps) {}

  async round(onProgress?: (p: { peersDone: number; peersTotal: number }) => void): Promise<AuditRoundResult> {
    const { index, clock } = this.deps
    const startedAtMs = clock.nowMs()
    const byPeer = new Map<string, Target[]>()
    for (const share of index.listShares()) {
      const packs = new Map(index.listPacks(share.shareId).map((p) => [toHex(p.packId), p]))
      for (const r of index.listReplicasOfShare(share.shareId)) {
        if (r.status === 'lost') continue
        const pack = packs.get(toHex(r.packId))
        if (!pack) continue
        const k = toHex(r.nodeId)
        const list = byPeer.get(k)
        if (list) list.push({ replica: r, pack })
        else byPeer.set(k, [{ replica: r, pack }])
      }
    }
    const peers = index.listPeers().filter((p) => p.state !== 'blocked' && byPeer.has(toHex(p.nodeId)))
    const results: PeerAuditResult[] = []
    let done = 0
    onProgress?.({ peersDone: 0, peersTotal: peers.length })
    await Promise.all(
      peers.map(async (peer) => {
        results.push(await this.#auditPeer(peer, byPeer.get(toHex(peer.nodeId)) as Target[]))
        onProgress?.({ peersDone: ++done, peersTotal: peers.length })
      }),
    )
    results.sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1))
    const passed = results.reduce((n, r) => n + r.passed, 0)
    const failed = results.reduce((n, r) => n + r.failed, 0)
    return { startedAtMs, finishedAtMs: clock.nowMs(), replicas: passed + failed, passed, failed, peers: results }
  }

  async #auditPeer(peer: PeerRecord, targets: Target[]): Promise<PeerAuditResult> {
    const { index, clock, log } = this.deps
    const outcomes = new Map<string, Outcome>()
    for (let i = 0; i < targets.length; i += OWNERSHIP_BATCH) {
      const batch = targets.slice(i, i + OWNERSHIP_BATCH)
      for (const [k, o] of await this.#auditBatch(peer, batch)) outcomes.set(k, o)
    }
    const now = clock.nowMs()
    let passed = 0
    let reason: string | null = null
    index.transaction(() => {
      for (const t of targets) {
        const o = outcomes.get(toHex(t.pack.packId)) as Outcome
        if (o.status === 'healthy') passed++
        else reason ??= o.reason
        index.updateReplica(t.pack.packId, peer.nodeId, { status: o.status, lastAuditMs: now, failures: o.status === 'healthy' ? 0 : t.replica.failures + 1 })
      }
    })
    const ok = passed === targets.length
    const audit = nextPeerAudit(peer.audit, ok, now)
    const state = peerStateAfterAudit(peer.state, audit)
    index.updatePeer(peer.nodeId, { audit, state })
    const hex = toHex(peer.nodeId)
    if (!ok) log.warn({ peer: hex.slice(0, 16), failed: targets.length - passed, checked: targets.length, reason, state }, 'A peer failed its audit')
    if (ok) await this.#renewLease(peer)
    return { nodeId: hex, url: peer.url, checked: targets.length, passed, failed: targets.length - passed, reason, state, score: audit.score }
  }

  /** Audits up to 16 objects in one request; when the peer lacks one of them, each alone. */
  async #auditBatch(peer: PeerRecord, batch: Target[]): Promise<Map<string, Outcome>> {
    const out = new Map<string, Outcome>()
    const count = Math.max(1, Math.min(LEAVES_PER_OBJECT, Math.floor(MAX_LEAVES_PER_REQUEST / batch.length)))
    const asks = batch.map((t) => {
      const seed = this.deps.sodium.randomBytes(32)
      return { t, seed, leaves: sampleLeafIndices(this.deps.sodium, seed, t.pack.sizeBytes, count) }
    })
    try {
      const answers = await this.#withDeadline(this.deps.pool.client(peer).auditMany(asks.map((a): AuditAsk => ({ objectId: a.t.pack.packId, seed: a.seed, count }))))
      const byId = new Map(answers.map((a) => [toHex(a.objectId), a]))
      for (const a of asks) {
        const verdict = checkAuditAnswer(this.deps.sodium, { objectId: a.t.pack.packId, sizeBytes: a.t.pack.sizeBytes, merkleRoot: a.t.replica.merkleRoot, leafIndices: a.leaves }, byId.get(toHex(a.t.pack.packId)) as { sizeBytes: number; proofs: MerkleProof[] } | undefined)
        out.set(toHex(a.t.pack.packId), verdict.ok ? { status: 'healthy', reason: null } : { status: 'bad', reason: verdict.reason })
      }
    } catch (err) {
      rethrowIfBug(err)
      const perObject = isBackupError(err, 'OBJECT_MISSING') || isBackupError(err, 'OBJECT_CORRUPT')
      if (perObject && batch.length > 1) {
        for (const t of batch) for (const [k, o] of await this.#auditBatch(peer, [t])) out.set(k, o)
        return out
      }
      const code = err instanceof BackupError ? err.code : 'UNKNOWN'
      const status: ReplicaStatus = isBackupError(err, 'OBJECT_MISSING') ? 'lost' : 'bad'
      const reason = `${code}: ${err instanceof Error ? err.message.slice(0, 200) : ''}`
      for (const t of batch) out.set(toHex(t.pack.packId), { status, reason })
    }
    return out
  }

  #withDeadline<T>(p: Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new BackupError('PEER_UNREACHABLE', `no audit answer within the deadline of ${this.deps.deadlineMs} ms`)), this.deps.deadlineMs)
    })
    p.catch(() => {}) // a late answer's failure must not go unhandled
    return Promise.race([p, late]).finally(() => clearTimeout(timer))
  }

  /** One signed renewal per peer and round keeps all this owner's objects there. */
  async #renewLease(peer: PeerRecord): Promise<void> {
    try {
      await this.deps.pool.client(peer).renewLease()
    } catch (err) {
      rethrowIfBug(err)
      this.deps.log.warn({ peer: toHex(peer.nodeId).slice(0, 16), code: err instanceof BackupError ? err.code : 'UNKNOWN' }, 'A peer did not renew the lease')
    }
  }
}
