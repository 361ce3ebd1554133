import type { HeapTuning } from '../../core/ports/heap-tuning.js'
import type { Sodium } from '../../core/ports/sodium.js'
import type { Clock } from '../../core/ports/clock.js'
import type { Logger } from '../../core/ports/logger.js'
import type { IndexStore, ShareRecord } from '../../core/ports/index-store.js'
import type { ObjectStore } from '../../core/ports/object-store.js'
import type { Poseidon } from '../../core/ports/poseidon.js'
import type { Prover } from '../../core/ports/prover.js'
import type { ChunkOpener } from '../../core/ports/chunk-opener.js'
import type { SourceFs } from '../../core/ports/source-fs.js'
import type { RestoreTarget } from '../../core/ports/restore-target.js'
import type { ChangeWatcher, ScheduledRun, Scheduler } from '../../core/ports/scheduler.js'
import type { DataDir } from '../../core/ports/data-dir.js'
import { asShareId, SHARE_ID_BYTES, type PackId } from '../../core/ids.js'
import { BackupError, configInvalid, inputInvalid, notFound, repoLocked, rethrowIfBug } from '../../core/errors.js'
import { decodeTree, encodeShareKeyText, parseShareKeyText, splitSharePath, uniquePeers, type ChunkRef, type PeerRef, type SharePointerValue, type SnapshotSummary } from '../../core/snapshot/index.js'
import { bytesEqual, concatBytes, toHex } from '../../shared/bytes.js'
import type { IngestService } from '../ingest-service.js'
import type { OwnerKeys } from './owner-keys.js'
import { PeerPool } from './peer-pool.js'
import { Replicator, GOOD_REPLICA } from './replicator.js'
import { Publisher } from './publisher.js'
import { BackupService } from './backup-service.js'
import { ChunkFetcher } from './chunk-fetcher.js'
import { OWNERSHIP_BATCH } from '../../core/proofs/index.js'
import { checkedManifestChunk, RestoreService, type LocalManifestChunk } from './restore-service.js'
import { JobRegistry, type JobView } from './jobs.js'
import { readShare, type ShareView } from './share-reader.js'
import { Auditor, type AuditRoundResult } from './auditor.js'
import { Repairer, type RepairResult } from './repairer.js'
import type { AlertEvent } from '../alerts/alerter.js'

export interface OwnerDeps {
  sodium: Sodium
  clock: Clock
  log: Logger
  index: IndexStore
  spool: ObjectStore
  ingest: IngestService
  pool: PeerPool
  poseidon: Poseidon
  makeProver: (provingKey: Uint8Array) => Prover
  sourceFor: (path: string) => SourceFs
  openTarget: (dir: string) => Promise<RestoreTarget>
  /** Opens restored chunks on other threads (the ingest's sealer threads); without: on this one. */
  opener?: ChunkOpener
  scheduler: Scheduler
  watcher: ChangeWatcher
  dataDir: DataDir
  /** Null while the node is locked: it serves others but does no owner work. */
  owner: OwnerKeys | null
  /** Why `owner` is null, for the error owner work gets meanwhile. */
  lockedReason?: string
  /** How often shares that are pending or short of copies are retried. */
  catchUpIntervalMs: number
  /** Quiet time after the last change in a watched share before its backup starts. */
  watchDebounceMs: number
  /** When audit rounds run (cron); null: only when asked. */
  auditSchedule: string | null
  /** How long a peer has to answer one audit request. */
  auditDeadlineMs: number
  /** Told when a backup fails or an audit finds bad copies (alerts). */
  onAlert?: (e: AlertEvent) => void
  /** Folders under which shares may be added; empty: any. */
  shareRoots?: readonly string[]
  /** Upload limit to peers, bytes per second (0 or absent: none). */
  uploadLimitBytesPerSec?: number
  /** The garbage collector's tuning, switched for the time of each backup (absent: left alone). */
  heap?: HeapTuning
  /** Gives back the memory large jobs left behind; run once no job is running (absent: nothing). */
  releaseMemory?: () => Promise<void>
}

export const SHARE_NAME_RE = /^[\p{L}\p{N}][\p{L}\p{N} ._-]{0,63}$/u
export const DEFAULT_COPIES = 3

export interface ShareInput {
  name: string
  path: string
  copies?: number
  schedule?: string | null
  watch?: boolean
}

export interface ShareStatus {
  name: string
  path: string | null
  imported: boolean
  copies: number
  schedule: string | null
  watch: boolean
  snapshots: number
  lastBackupMs: number | null
  lastResult: string | null
  pending: boolean
  packs: number
  /** Packs with all their copies, with some, with none. */
  healthy: number
  degraded: number
  lost: number
  peers: number
  /** When a copy of this share was last audited. */
  lastAuditMs: number | null
  createdAtMs: number
}

export interface BrowseEntry {
  name: string
  kind: 'file' | 'dir' | 'symlink'
  mode: number
  mtimeMs: number
  sizeBytes?: number
  target?: string
}

export interface AuditJobResult extends Record<string, unknown> {
  round: AuditRoundResult
  repairs: Array<{ share: string } & RepairResult>
  /** Packs (over all shares) still short of copies after the repair. */
  missing: number
}

/**
 * The owner's side of the node, as the local API drives it: shares, peers, backups (one at a
 * time, queued per share), restores, share keys, schedules and watches, and a catch-up loop that
 * finishes interrupted backups and brings degraded shares back to their copies.
 */
export class OwnerService {
  readonly jobs: JobRegistry
  readonly #replicator: Replicator
  readonly #publisher: Publisher
  readonly #backup: BackupService
  readonly #restore: RestoreService
  readonly #auditor: Auditor
  readonly #repairer: Repairer
  #auditTimer: { stop(): void } | null = null
  #lastAudit: AuditJobResult | null = null
  /** Since this engine started: for /metrics. */
  readonly stats = { backupsCompleted: 0, backupsFailed: 0, bytesRead: 0, lastBackupSeconds: new Map<string, number>() }
  readonly #provers = new Map<string, Promise<Prover>>()
  readonly #timers = new Map<string, ScheduledRun>()
  readonly #watches = new Map<string, { close(): Promise<void> }>()
  readonly #debounce = new Map<string, ReturnType<typeof setTimeout>>()
  #queue: Promise<unknown> = Promise.resolve()
  #catchUp: ReturnType<typeof setInterval> | null = null
  #closed = false

  constructor(private readonly deps: OwnerDeps) {
    this.jobs = new JobRegistry(deps.clock, deps.log, deps.releaseMemory)
    this.#replicator = new Replicator(deps)
    this.#publisher = new Publisher({ ...deps, replicator: this.#replicator })
    this.#backup = new BackupService({ ...deps, publisher: this.#publisher })
    this.#restore = new RestoreService(deps.sodium, deps.opener)
    this.#auditor = new Auditor({ ...deps, deadlineMs: deps.auditDeadlineMs })
    this.#repairer = new Repairer({ ...deps, publisher: this.#publisher })
  }

  get locked(): boolean {
    return this.deps.owner === null
  }

  #owner(): OwnerKeys {
    if (!this.deps.owner) throw this.deps.lockedReason ? new BackupError('REPO_LOCKED', this.deps.lockedReason) : repoLocked()
    return this.deps.owner
  }

  /** Resumes interrupted backups, arms schedules and watches, starts the catch-up loop. */
  async start(): Promise<void> {
    if (!this.deps.owner) return
    await this.#sweepSpool()
    for (const s of this.deps.index.listShares()) await this.#arm(s)
    if (this.deps.auditSchedule && !this.deps.scheduler.validate(this.deps.auditSchedule)) throw configInvalid(`auditSchedule "${this.deps.auditSchedule.slice(0, 60)}" is not a valid cron expression`)
    if (this.deps.auditSchedule) this.#auditTimer = this.deps.scheduler.schedule(this.deps.auditSchedule, () => this.#startAudit('schedule'))
    this.#catchUp = setInterval(() => void this.#catchUpRound(), this.deps.catchUpIntervalMs)
    this.#catchUp.unref?.()
    void this.#catchUpRound()
  }

  async close(): Promise<void> {
    this.#closed = true
    if (this.#catchUp) clearInterval(this.#catchUp)
    for (const t of this.#debounce.values()) clearTimeout(t)
    for (const t of this.#timers.values()) t.stop()
    this.#auditTimer?.stop()
    await Promise.allSettled([...this.#watches.values()].map((w) => w.close()))
    await this.#queue.catch(() => {})
    await Promise.allSettled([...this.#provers.values()].map(async (p) => (await p).close()))
    await this.deps.pool.close()
  }

  // ── shares ────────────────────────────────────────────────────────────────────────────────

  async addShare(input: ShareInput): Promise<ShareRecord> {
    this.#owner()
    const { index, scheduler, clock } = this.deps
    if (typeof input.name !== 'string' || !SHARE_NAME_RE.test(input.name)) throw inputInvalid('a share name is 1-64 letters, digits, spaces, dots, dashes or underscores, starting with a letter or digit')
    if (typeof input.path !== 'string' || !input.path.startsWith('/')) throw inputInvalid('a share path must be an absolute folder path')
    const copies = input.copies ?? DEFAULT_COPIES
    if (!Number.isInteger(copies) || copies < 1 || copies > 16) throw inputInvalid('copies must be 1 to 16')
    const schedule = input.schedule ?? null
    if (schedule !== null && !scheduler.validate(schedule)) throw inputInvalid(`"${String(schedule).slice(0, 60)}" is not a valid cron expression (five fields: minute hour day month weekday)`)
    if (schedule !== null && input.watch) throw inputInvalid('choose a schedule or continuous mode, not both')
    const roots = this.deps.shareRoots ?? []
    if (/(^|\/)\.\.?(\/|$)/.test(input.path)) throw inputInvalid('a share path must not contain "." or ".." parts')
    if (roots.length > 0 && !roots.some((r) => input.path === r || input.path.startsWith(r === '/' ? '/' : `${r}/`))) throw inputInvalid(`shares must be folders inside ${roots.join(', ')}`)
    const root = await this.deps.sourceFor(input.path).stat('').catch(() => null)
    if (!root || root.kind !== 'dir') throw inputInvalid(`${input.path} is not a folder this node can read`)
    const share: ShareRecord = { shareId: asShareId(this.deps.sodium.randomBytes(SHARE_ID_BYTES)), name: input.name, path: input.path, copies, schedule, watch: input.watch ?? false, wrappedKey: null, pointerSeq: 0, pendingBackup: false, lastBackupMs: null, lastResult: null, createdAtMs: clock.nowMs() }
    index.addShare(share)
    await this.#arm(share)
    await this.#publisher.publishOwner(this.#owner()).catch((err) => this.#warn(err, 'Could not update the owner pointer'))
    return share
  }

  async removeShare(name: string): Promise<void> {
    const share = this.#share(name)
    await this.#disarm(share)
    this.deps.index.removeShare(share.shareId)
    if (share.path !== null && this.deps.owner) await this.#publisher.publishOwner(this.deps.owner).catch((err) => this.#warn(err, 'Could not update the owner pointer'))
  }

  #share(name: string): ShareRecord {
    const s = typeof name === 'string' ? this.deps.index.getShare(name) : null
    if (!s) throw notFound(`share "${String(name).slice(0, 64)}"`)
    return s
  }

  listShares(): ShareStatus[] {
    const { index } = this.deps
    return index.listShares().map((s) => {
      const packs = index.listPacks(s.shareId)
      const copies = new Map<string, number>()
      const peers = new Set<string>()
      let lastAuditMs: number | null = null
      for (const r of index.listReplicasOfShare(s.shareId)) {
        if (r.lastAuditMs !== null && (lastAuditMs === null || r.lastAuditMs > lastAuditMs)) lastAuditMs = r.lastAuditMs
        if (!GOOD_REPLICA.has(r.status)) continue
        copies.set(toHex(r.packId), (copies.get(toHex(r.packId)) ?? 0) + 1)
        peers.add(toHex(r.nodeId))
      }
      let healthy = 0
      let degraded = 0
      let lost = 0
      for (const p of packs) {
        const n = copies.get(toHex(p.packId)) ?? 0
        if (n >= s.copies) healthy++
        else if (n > 0) degraded++
        else lost++
      }
      return { name: s.name, path: s.path, imported: s.path === null, copies: s.copies, schedule: s.schedule, watch: s.watch, snapshots: index.listSnapshots(s.shareId).length, lastBackupMs: s.lastBackupMs, lastResult: s.lastResult, pending: s.pendingBackup, packs: packs.length, healthy, degraded, lost, peers: peers.size, lastAuditMs, createdAtMs: s.createdAtMs }
    })
  }

  /** When a share's next scheduled backup runs (null: continuous or when asked). */
  nextBackupMs(name: string): number | null {
    const s = this.deps.index.getShare(name)
    return s ? (this.#timers.get(toHex(s.shareId))?.nextRunMs() ?? null) : null
  }

  // ── peers ─────────────────────────────────────────────────────────────────────────────────

  peers() {
    return this.deps.index.listPeers()
  }

  /** Good copies each peer holds for this owner (by node id, hex). */
  copiesByPeer(): Map<string, number> {
    const { index } = this.deps
    const out = new Map<string, number>()
    for (const s of index.listShares()) for (const r of index.listReplicasOfShare(s.shareId)) if (GOOD_REPLICA.has(r.status)) out.set(toHex(r.nodeId), (out.get(toHex(r.nodeId)) ?? 0) + 1)
    return out
  }

  /** Bytes of this owner's packs on peers, every good copy counted. */
  bytesOnPeers(): number {
    const { index } = this.deps
    let n = 0
    for (const s of index.listShares()) {
      const size = new Map(index.listPacks(s.shareId).map((p) => [toHex(p.packId), p.sizeBytes]))
      for (const r of index.listReplicasOfShare(s.shareId)) if (GOOD_REPLICA.has(r.status)) n += size.get(toHex(r.packId)) ?? 0
    }
    return n
  }

  /** The owner's word on a peer: blocked peers get nothing new and are not audited; unblocking makes it active. */
  setPeerBlocked(nodeIdHex: string, blocked: boolean) {
    const p = this.deps.pool.byId(nodeIdHex)
    this.deps.index.updatePeer(p.nodeId, { state: blocked ? 'blocked' : 'active' })
    return this.deps.index.getPeer(p.nodeId) as typeof p
  }

  // ── audits and repair ─────────────────────────────────────────────────────────────────────

  get lastAudit(): AuditJobResult | null {
    return this.#lastAudit
  }

  /** Starts an audit round and the repairs it calls for (or returns the one running). */
  audit(): JobView {
    const owner = this.#owner()
    const running = this.jobs.running('audit', 'all')
    if (running) return running
    return this.jobs.start('audit', 'all', async (progress) => {
      const run = this.#queue.then(async (): Promise<AuditJobResult> => {
        const round = await this.#auditor.round((p) => progress({ phase: 'audit', ...p }))
        const repairs: AuditJobResult['repairs'] = []
        const shares = this.deps.index.listShares().filter((s) => s.path !== null)
        let i = 0
        for (const s of shares) {
          progress({ phase: 'repair', sharesDone: i++, sharesTotal: shares.length })
          const r = await this.#repairer.repair(s, owner.shareKeys(s), owner, () => this.#ownProver())
          if (r.short > 0) repairs.push({ share: s.name, ...r })
          if (r.short > 0) this.deps.log.info({ share: s.name, short: r.short, fromSpool: r.fromSpool, fromSource: r.fromSource, fetched: r.fetched, stillShort: r.stillShort }, 'Repair finished')
        }
        const missing = this.listShares().filter((s) => !s.imported).reduce((n, s) => n + s.degraded + s.lost, 0)
        return { round, repairs, missing }
      })
      this.#queue = run.catch(() => {})
      const result = await run
      this.#lastAudit = result
      if (result.round.failed > 0 || result.missing > 0) this.deps.onAlert?.({ kind: 'copies-lost', failedCopies: result.round.failed, missingPacks: result.missing, peers: result.round.peers.filter((p) => p.failed > 0).map((p) => p.url) })
      return result
    })
  }

  #startAudit(why: string): void {
    if (this.#closed) return
    try {
      this.audit()
      this.deps.log.info({ why }, 'Audit round started')
    } catch (err) {
      this.#warn(err, 'Could not start an audit round')
    }
  }

  async addPeer(url: string) {
    if (typeof url !== 'string') throw inputInvalid('a peer address is https://host:port')
    const p = await this.deps.pool.add(url)
    if (this.deps.owner) await this.#publisher.publishOwner(this.deps.owner).catch((err) => this.#warn(err, 'Could not update the owner pointer'))
    return p
  }

  // ── backups ───────────────────────────────────────────────────────────────────────────────

  /** Queues a backup of a share (or returns the one already queued or running). */
  backup(name: string): JobView {
    const owner = this.#owner()
    const share = this.#share(name)
    if (share.path === null) throw inputInvalid(`"${name}" was imported from a share key: it can be listed and restored, not backed up from here`)
    const running = this.jobs.running('backup', share.name)
    if (running) return running
    this.deps.index.updateShare(share.shareId, { pendingBackup: true })
    return this.jobs.start('backup', share.name, async (progress) => {
      const run = this.#queue.then(async () => {
        const current = this.#share(name)
        const out = await this.#backup.run(current, owner.shareKeys(current), owner, (p) => progress(p as unknown as Record<string, number | string>))
        return { snapshot: out.snapshot, result: out.result, filesRead: out.stats.filesRead, filesUnchanged: out.stats.filesUnchanged, filesSkipped: out.stats.filesSkipped, bytesRead: out.stats.bytesRead, packsWritten: out.stats.packsWritten, shortPacks: out.publish.shortPacks }
      })
      this.#queue = run.catch(() => {})
      const started = this.deps.clock.nowMs()
      const result = await run.catch((err) => {
        this.#warn(err, 'A backup failed')
        const code = err instanceof BackupError ? err.code : 'failed'
        this.deps.index.updateShare(share.shareId, { lastResult: code })
        this.stats.backupsFailed++
        this.deps.onAlert?.({ kind: 'backup-failed', share: share.name, code })
        throw err
      })
      this.stats.backupsCompleted++
      this.deps.onAlert?.({ kind: 'backup-ok', share: share.name })
      this.stats.bytesRead += result.bytesRead
      this.stats.lastBackupSeconds.set(share.name, (this.deps.clock.nowMs() - started) / 1000)
      return result
    })
  }

  // ── snapshots and restores ────────────────────────────────────────────────────────────────

  /** Snapshots of a share; for an imported or recovered share, read fresh from its pointer. */
  async snapshots(name: string): Promise<SnapshotSummary[]> {
    const share = this.#share(name)
    if (share.path === null || this.deps.index.listSnapshots(share.shareId).length === 0) await this.#refresh(share).catch((err) => {
      if (this.deps.index.listSnapshots(share.shareId).length === 0) throw err
      this.#warn(err, 'Could not refresh a share from its peers')
    })
    return this.deps.index.listSnapshots(share.shareId).map((s) => s.summary)
  }

  async #refresh(share: ShareRecord): Promise<ShareView> {
    const owner = this.#owner()
    const keys = owner.shareKeys(share)
    const view = await readShare({ ...this.deps, fetcher: this.deps, proverFor: (v, peers) => () => this.#proverFor(v, peers) }, keys, this.#allPeers())
    for (const s of view.catalog.snapshots) this.deps.index.putSnapshot({ shareId: share.shareId, summary: s })
    for (const p of [...view.catalog.peers, ...view.pointer.peers]) this.deps.pool.remember(p)
    if (view.seq > share.pointerSeq) this.deps.index.updateShare(share.shareId, { pointerSeq: view.seq })
    return view
  }

  #allPeers(): PeerRef[] {
    return this.deps.pool.active().map((p) => this.deps.pool.ref(p))
  }

  restore(name: string, snapshot: string | number | undefined, paths: string[], to: string): JobView {
    this.#owner()
    const share = this.#share(name)
    if (typeof to !== 'string' || !to.startsWith('/')) throw inputInvalid('the restore target must be an absolute folder path')
    if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string')) throw inputInvalid('paths must be a list of share-relative paths')
    return this.jobs.start('restore', share.name, (progress) => this.runRestore(name, snapshot, paths, to, progress))
  }

  /** Restores now (the job behind restore(), and what recovery runs directly). */
  async runRestore(name: string, snapshot: string | number | undefined, paths: string[], to: string, progress: (p: Record<string, number>) => void = () => {}): Promise<Record<string, unknown>> {
    const owner = this.#owner()
    const share = this.#share(name)
    const snaps = await this.snapshots(name)
    const want = snapshot === undefined || snapshot === 'latest' ? snaps.at(-1) : snaps.find((s) => String(s.seq) === String(snapshot))
    if (!want) throw notFound(snapshot === undefined || snapshot === 'latest' ? `a snapshot of "${name}"` : `snapshot ${String(snapshot).slice(0, 20)} of "${name}"`)
    const keys = owner.shareKeys(share)
    const fetcher = await this.#fetcher(share, keys)
    const target = await this.deps.openTarget(to)
    const out = await this.#restore.restore({ keys, root: want.root, paths, target, fetcher, manifest: this.#localManifest(share), onProgress: (p) => progress({ ...p }) })
    return { snapshot: want.seq, ...out, bytesFetched: fetcher.bytesFetched }
  }

  /** The share's newest manifests as its last backup here kept them (none for an imported share). */
  #localManifest(share: ShareRecord): LocalManifestChunk {
    return (chunkId) => this.deps.index.getManifestChunk(share.shareId, chunkId)
  }

  /** A chunk fetcher for a share: the index's replicas first, else what its pointer says. */
  async #fetcher(share: ShareRecord, keys: ReturnType<OwnerKeys['shareKeys']>): Promise<ChunkFetcher> {
    const packs = this.deps.index.listPacks(share.shareId)
    const local = packs.length > 0
    const view: ShareView | null = local ? null : await this.#refresh(share)
    const locate = (packId: PackId) => {
      const { index, pool } = this.deps
      const fromIndex = index.listReplicas(packId).filter((r) => GOOD_REPLICA.has(r.status)).flatMap((r) => {
        const p = index.getPeer(r.nodeId)
        return p ? [pool.ref(p)] : []
      })
      return uniquePeers([...fromIndex, ...(view ? view.locate(packId) : this.#allPeers())])
    }
    const prover = view ? () => this.#proverFor(view.pointer, this.#allPeers()) : () => this.#ownProver()
    // The newest packs hold the last backup's manifests and data: a first grant batch for each of
    // the peers a restore reads from (as many as the share keeps copies).
    const newest = packs.slice(-Math.max(1, share.copies) * OWNERSHIP_BATCH).reverse().map((p) => p.packId)
    return new ChunkFetcher({ ...this.deps, prover, spool: this.deps.spool }, keys, locate, newest)
  }

  /** The entries of one folder of a snapshot (for browsing before a restore). */
  async browse(name: string, snapshot: string | number | undefined, path: string): Promise<{ snapshot: number; path: string; entries: BrowseEntry[] }> {
    const owner = this.#owner()
    const share = this.#share(name)
    const snaps = await this.snapshots(name)
    const want = snapshot === undefined || snapshot === 'latest' ? snaps.at(-1) : snaps.find((s) => String(s.seq) === String(snapshot))
    if (!want) throw notFound(`snapshot ${String(snapshot ?? 'latest').slice(0, 20)} of "${name}"`)
    const keys = owner.shareKeys(share)
    const fetcher = await this.#fetcher(share, keys)
    const local = this.#localManifest(share)
    const read = async (refs: ChunkRef[], where: string) => {
      const kept = refs.map((r) => checkedManifestChunk(this.deps.sodium, keys, r, local))
      fetcher.want(refs.filter((_, i) => !kept[i]).map((r) => r.packId))
      return decodeTree(concatBytes(await Promise.all(refs.map((r, i) => kept[i] ?? fetcher.chunk(r)))), where)
    }
    const parts = typeof path === 'string' && path !== '' && path !== '/' ? splitSharePath(path) : []
    let entries = await read(want.root, 'the root manifest')
    for (let i = 0; i < parts.length; i++) {
      const e = entries.find((x) => x.name === parts[i])
      if (!e || e.kind !== 'dir') throw notFound(`folder "${parts.slice(0, i + 1).join('/')}" in snapshot ${want.seq}`)
      entries = await read(e.tree, parts.slice(0, i + 1).join('/'))
    }
    const out = entries.map((e): BrowseEntry => ({ name: e.name, kind: e.kind, mode: e.mode, mtimeMs: e.mtimeMs, ...(e.kind === 'file' ? { sizeBytes: e.sizeBytes } : {}), ...(e.kind === 'symlink' ? { target: e.target } : {}) }))
    out.sort((a, b) => (a.kind === 'dir') !== (b.kind === 'dir') ? (a.kind === 'dir' ? -1 : 1) : a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
    return { snapshot: want.seq, path: parts.join('/'), entries: out }
  }

  // ── share keys ────────────────────────────────────────────────────────────────────────────

  exportKey(name: string): string {
    const owner = this.#owner()
    const share = this.#share(name)
    const key = share.wrappedKey ? owner.unwrapShareKey(share.shareId, share.wrappedKey) : owner.shareKey(share.shareId)
    return encodeShareKeyText({ name: share.name, shareId: share.shareId, shareKey: key, peers: this.deps.pool.active().slice(0, 4).map((p) => p.url) })
  }

  /** Adds a friend's share (list and restore only); its peers are contacted and pinned. */
  async importKey(text: string): Promise<ShareRecord> {
    const owner = this.#owner()
    if (typeof text !== 'string' || text.length > 8192) throw inputInvalid('a share key is a short text')
    const shared = parseShareKeyText(text)
    const { index } = this.deps
    if (index.listShares().some((s) => bytesEqual(s.shareId, shared.shareId))) throw inputInvalid('this share is already on this node')
    if (index.getShare(shared.name)) throw inputInvalid(`a share named "${shared.name}" exists already; rename it first`)
    for (const url of shared.peers) await this.deps.pool.add(url).catch((err) => this.#warn(err, 'A peer of the share key could not be added'))
    const share: ShareRecord = { shareId: shared.shareId, name: shared.name, path: null, copies: 1, schedule: null, watch: false, wrappedKey: owner.wrapShareKey(shared.shareId, shared.shareKey), pointerSeq: 0, pendingBackup: false, lastBackupMs: null, lastResult: null, createdAtMs: this.deps.clock.nowMs() }
    index.addShare(share)
    try {
      await this.#refresh(share)
    } catch (err) {
      index.removeShare(share.shareId)
      throw err
    }
    return share
  }

  // ── proofs ────────────────────────────────────────────────────────────────────────────────

  #ownProver(): Promise<Prover> {
    const owner = this.#owner()
    return this.#prover(toHex(owner.provingKeySha256), () => owner.provingKey())
  }

  /** The prover for a share's owner: ours, or the owner's public proving key from its peers (checked by hash). */
  #proverFor(v: SharePointerValue, peers: PeerRef[]): Promise<Prover> {
    const sha = toHex(v.provingKeySha256)
    const owner = this.deps.owner
    if (owner && sha === toHex(owner.provingKeySha256)) return this.#ownProver()
    return this.#prover(sha, async () => {
      const file = `proving-key-${sha}.zkey`
      const kept = await this.deps.dataDir.readBytes(file)
      if (kept && bytesEqual(this.deps.sodium.sha256(kept), v.provingKeySha256)) return kept
      for (const p of peers) {
        try {
          const bytes = await this.deps.pool.client(p).getBlob(v.ownerLocator, v.provingKeySha256)
          await this.deps.dataDir.writeAtomic(file, bytes, 0o600)
          return bytes
        } catch (err) {
          rethrowIfBug(err)
        }
      }
      throw notFound("the share owner's proving key on any reachable peer")
    })
  }

  #prover(sha: string, load: () => Promise<Uint8Array>): Promise<Prover> {
    let p = this.#provers.get(sha)
    if (!p) {
      p = load().then((pk) => this.deps.makeProver(pk))
      p.catch(() => this.#provers.delete(sha))
      this.#provers.set(sha, p)
    }
    return p
  }

  // ── schedules, watches, catch-up ──────────────────────────────────────────────────────────

  async #arm(share: ShareRecord): Promise<void> {
    if (share.path === null || this.#closed) return
    const key = toHex(share.shareId)
    if (share.schedule) this.#timers.set(key, this.deps.scheduler.schedule(share.schedule, () => this.#trigger(share.name, 'schedule')))
    if (share.watch) {
      const w = await this.deps.watcher.watch(share.path, () => {
        clearTimeout(this.#debounce.get(key))
        const t = setTimeout(() => this.#trigger(share.name, 'change'), this.deps.watchDebounceMs)
        t.unref?.()
        this.#debounce.set(key, t)
      })
      this.#watches.set(key, w)
    }
  }

  async #disarm(share: ShareRecord): Promise<void> {
    const key = toHex(share.shareId)
    this.#timers.get(key)?.stop()
    this.#timers.delete(key)
    clearTimeout(this.#debounce.get(key))
    await this.#watches.get(key)?.close()
    this.#watches.delete(key)
  }

  #trigger(name: string, why: string): void {
    if (this.#closed) return
    try {
      this.backup(name)
      this.deps.log.info({ share: name, why }, 'Backup queued')
    } catch (err) {
      this.#warn(err, 'Could not queue a backup')
    }
  }

  async #catchUpRound(): Promise<void> {
    if (this.#closed || !this.deps.owner) return
    const owner = this.deps.owner
    for (const s of this.deps.index.listShares()) {
      if (s.path === null || this.jobs.running('backup', s.name)) continue
      if (s.pendingBackup) this.#trigger(s.name, 'resume')
      else if (s.lastResult === 'degraded') {
        const run = this.#queue.then(async () => {
          const current = this.#share(s.name)
          const out = await this.#publisher.publish(current, owner.shareKeys(current), owner)
          if (out.complete) this.deps.index.updateShare(s.shareId, { lastResult: 'complete' })
        })
        this.#queue = run.catch((err) => this.#warn(err, 'Catching up a degraded share failed'))
        await this.#queue
      }
    }
  }

  /** Packs in the spool that the index does not know (a crash between writing and recording). */
  async #sweepSpool(): Promise<void> {
    const { spool, index } = this.deps
    for await (const id of spool.list()) if (!index.getPack(id)) await spool.delete(id)
  }

  #warn(err: unknown, msg: 'A backup failed' | 'Could not update the owner pointer' | 'Could not refresh a share from its peers' | 'A peer of the share key could not be added' | 'Could not queue a backup' | 'Catching up a degraded share failed' | 'Could not start an audit round'): void {
    rethrowIfBug(err)
    this.deps.log.warn({ code: err instanceof BackupError ? err.code : 'UNKNOWN', reason: err instanceof Error ? err.message.slice(0, 300) : '' }, msg)
  }
}
