/**
 * The composition root: the only file that imports adapters. Everything else receives ports.
 */
import { SodiumNativeCrypto } from '../adapters/sodium/sodium-native-crypto.js'
import { Argon2PasswordKdf } from '../adapters/argon2/argon2-password-kdf.js'
import { SqliteIndexStore } from '../adapters/sqlite/sqlite-index-store.js'
import { FsObjectStore } from '../adapters/fs/fs-object-store.js'
import { FsSource } from '../adapters/fs/fs-source.js'
import { SystemClock } from '../adapters/system/system-clock.js'
import { collectGarbage, v8HeapTuning } from '../adapters/system/v8-heap-tuning.js'
import { WorkerChunkSealer } from '../adapters/sodium/worker-chunk-sealer.js'
import { allocateAlignedShared, nativeIngest } from '../adapters/sodium/native-ingest.js'
import { FsDataDir } from '../adapters/fs/fs-data-dir.js'
import { HttpListener } from '../adapters/http/http-listener.js'
import { JsonLogger, debugComponentsFromEnv, type LogLevel } from '../adapters/log/json-logger.js'
import { createWebApp } from '../web/create-web-app.js'
import { toHex } from '../shared/bytes.js'
import { IngestService, type IngestDeps } from './ingest-service.js'
import { Keyring } from './keyring.js'
import { ProofKeyStore } from './proof-keys.js'
import type { runOwnerSetup as RunOwnerSetup } from '../adapters/snarkjs/snarkjs-setup.js'
import { Daemon } from './daemon.js'
import { DEFAULTS, type DaemonConfig } from './config/defaults.js'
import { PeerDirectory } from './discovery/peer-directory.js'
import { PeerExchange } from './discovery/peer-exchange.js'
import { SsdpDiscovery } from '../adapters/ssdp/ssdp-discovery.js'
import type { NodeStatus } from './node-status.js'
import type { Logger } from '../core/ports/logger.js'
import type { NodeIdentity } from '../core/identity.js'
import type { Announcement } from '../core/protocol/index.js'
import { signAnnouncement } from '../core/protocol/index.js'
import { deriveStorageKeys } from '../core/storage/index.js'
import { NonceStore } from '../core/proofs/index.js'
import { SqliteStorageCatalog } from '../adapters/sqlite/sqlite-storage-catalog.js'
import { SnarkjsVerifier, terminateSnarkjs } from '../adapters/snarkjs/snarkjs-verifier.js'
import { SnarkjsProver } from '../adapters/snarkjs/snarkjs-prover.js'
import { CircomlibPoseidon } from '../adapters/snarkjs/circomlib-poseidon.js'
import { identityFromSeed } from '../core/identity.js'
import { describeTls } from '../adapters/tls/tls-material.js'
import { HttpsPeerClient, type PeerClientOptions } from '../adapters/https-peer/https-peer-client.js'
import { createPeerApp } from '../web/peer-api.js'
import { StorageService, type StorageLimits } from './storage-node/storage-service.js'
import { PeerHandler } from './storage-node/peer-handler.js'
import { PublicStore } from './storage-node/public-store.js'
import { loadOrCreateStorageKey, loadOrCreateTls } from './storage-node/peer-material.js'
import { OwnerKeys } from './owner/owner-keys.js'
import { OwnerService } from './owner/owner-service.js'
import { AdminAuth } from './admin/admin-auth.js'
import { NodeControl } from './node-control.js'
import { ConfigFile } from './config/config-file.js'
import { Alerter, type AlertEvent } from './alerts/alerter.js'
import { WebhookAlertSink } from '../adapters/webhook/webhook-alert-sink.js'
import { SmtpAlertSink } from '../adapters/smtp/smtp-alert-sink.js'
import type { AlertSink } from '../core/ports/alert-sink.js'
import { LoginLimiter, SessionStore } from './admin/sessions.js'
import { nodeMetrics } from './metrics.js'
import { PromMetricsExporter } from '../adapters/prometheus/prom-metrics-exporter.js'
import type { SettingsView } from '../web/pages.js'
import { PeerPool } from './owner/peer-pool.js'
import { FsRestoreTarget, type FsRestoreTargetOptions } from '../adapters/fs/fs-restore-target.js'
import { NodeCronScheduler } from '../adapters/cron/node-cron-scheduler.js'
import { ChokidarWatcher } from '../adapters/chokidar/chokidar-watcher.js'
import { BackupError } from '../core/errors.js'
import { deriveOwnerKeys } from '../core/crypto/index.js'

/**
 * The libraries only some runs need are loaded when first used, not as every node starts:
 * snarkjs (the owner's one-time proof setup) and @peculiar/x509 (a node's first certificate)
 * cost about 20 MB of memory and 6 MB of live heap that a running node would otherwise carry.
 */
const runOwnerSetup: typeof RunOwnerSetup = async (onProgress) => (await import('../adapters/snarkjs/snarkjs-setup.js')).runOwnerSetup(onProgress)
const makeSelfSignedCert = async (opts: { validDays: number }) => (await import('../adapters/tls/self-signed-cert.js')).makeSelfSignedCert(opts)

/** The garbage collector's steady tuning for a running node (see adapters/system/v8-heap-tuning.ts); backups switch it for their time. */
export function tuneHeapForNode(): void {
  v8HeapTuning.steady()
}

export function composeCrypto() {
  return { sodium: new SodiumNativeCrypto(), kdf: new Argon2PasswordKdf(), clock: new SystemClock() }
}

/**
 * With the native ingest module: its memcpy into pack memory, and page-aligned pack buffers (the
 * spool writes them straight to disk).
 */
function nativePacking(): Pick<IngestDeps, 'copyBytes' | 'allocatePack'> {
  const native = nativeIngest()
  return native ? { ...fastCopy(), allocatePack: allocateAlignedShared } : {}
}

/** With the native ingest module: its memcpy, for bytes going into shared memory (packs, fetched ranges). */
function fastCopy(): Pick<PeerClientOptions, 'copyBytes'> {
  const native = nativeIngest()
  return native ? { copyBytes: native.copy } : {}
}

/**
 * A store of packs (the owner's spool, a storage node's objects): large objects are written past
 * the page cache when the native module was built; a storage node's are also read that way (the
 * owner's spool is read once for each peer a pack goes to, which the page cache serves).
 */
function packStore(root: string, o: { directRead: boolean }): FsObjectStore {
  const native = nativeIngest()
  return new FsObjectStore(root, native ? { directWrite: native.writeAll, ...(o.directRead ? { directRead: native.readAt, pageGap: native.pageGap } : {}) } : {})
}

/**
 * When the native module was built, small restored files are written whole in one native step
 * each, others finished in one, and large ones written mostly past the page cache.
 */
function restoreOptions(): FsRestoreTargetOptions {
  const native = nativeIngest()
  return native ? { finishFile: native.finishFile, writeAt: native.writeAt, writeFile: native.writeFile } : {}
}

/**
 * What an owner node gives back once its jobs have ended. A restore lends shared buffers (its
 * ranges and opened chunks, ~100 MB for 1 GiB here) to the sealer's threads; each thread's view
 * keeps the memory allocated until that thread's heap is collected, and idle threads collect
 * nothing, so it stayed: 190 MB before a 1 GiB restore, 310-350 MB long after it, and more after
 * the next. So: a full collection on the sealer's threads, then on this one (the last views go,
 * and the memory with them), then the C heap's free pages back to the system (~30 MB more).
 * About 50 ms of work, once no job is running.
 */
async function releaseMemory(sealer: WorkerChunkSealer): Promise<void> {
  await sealer.collectGarbage()
  collectGarbage()
  // V8 frees what it collected on a background thread, just after.
  await new Promise((r) => setTimeout(r, 250).unref())
  nativeIngest()?.trimMemory()
}

/** The owner ingest pipeline on real adapters, for the daemon and the ingest benchmark. */
export async function composeIngest(paths: { indexPath: string; spoolDir: string; sourceDir: string }) {
  const { sodium, clock } = composeCrypto()
  const index = new SqliteIndexStore(paths.indexPath)
  await index.open()
  const spool = packStore(paths.spoolDir, { directRead: false })
  await spool.open()
  const sealer = new WorkerChunkSealer()
  const ingest = new IngestService({ sodium, index, spool, clock, sealer, ...nativePacking() })
  return {
    sodium,
    index,
    spool,
    ingest,
    source: new FsSource(paths.sourceDir),
    /** Resolves once the sealer's worker threads have loaded (a running node's have long since). */
    ready: () => sealer.ready(),
    async close() {
      await sealer.close()
      await spool.close()
      await index.close()
    },
  }
}

export function composeLogger(level: LogLevel, env: Record<string, string | undefined> = process.env): Logger {
  return new JsonLogger({ level, debugComponents: debugComponentsFromEnv(env.QULOUD_DEBUG) })
}

export async function composeKeyring(dataDirPath: string, argon2?: import('../core/ports/password-kdf.js').Argon2Params) {
  const { sodium, kdf } = composeCrypto()
  const dataDir = await FsDataDir.open(dataDirPath)
  return { keyring: new Keyring({ sodium, kdf, dataDir }, argon2), dataDir }
}

/** The owner's proof keys in a data folder, and the snarkjs setup that makes them. */
export async function composeProofKeys(dataDirPath: string) {
  const dataDir = await FsDataDir.open(dataDirPath)
  return { store: new ProofKeyStore(dataDir), runSetup: runOwnerSetup }
}

export interface ComposedNode {
  daemon: Daemon
  webUrl: () => string
  /** https://host:port of the federation protocol once the daemon is open. */
  peerUrl: () => string
  /** SHA-256 of the peer port's TLS certificate (hex), once open. */
  peerCertSha256: () => string
  status: () => Promise<NodeStatus>
  owner: () => OwnerService | null
}

/** A stable UUID-shaped SSDP device id from the node id (public anyway). */
function ssdpUuid(identity: NodeIdentity): string {
  const h = toHex(identity.nodeId)
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`
}

/** How often shares are checked for a backup overdue (alerts). */
export const ALERT_CHECK_MS = 10 * 60_000

/** The local API's address and token, for the CLI (mode 0600). */
export const API_FILE = 'api.json'

async function apiToken(dataDir: FsDataDir, sodium: SodiumNativeCrypto): Promise<string> {
  const text = await dataDir.readText(API_FILE)
  try {
    const t = text ? (JSON.parse(text) as { token?: unknown }).token : null
    if (typeof t === 'string' && /^[A-Za-z0-9_-]{32,128}$/.test(t)) return t
  } catch {
    // a damaged api.json gets a new token
  }
  return Buffer.from(sodium.randomBytes(32)).toString('base64url')
}

/**
 * The owner's keys when the node is unlocked and its proof keys exist; null otherwise (a locked
 * node, or init ran with --defer-proof-setup), with the reason logged.
 */
async function loadOwnerKeys(dataDir: FsDataDir, sodium: SodiumNativeCrypto, masterKey: Uint8Array | null, log: Logger): Promise<OwnerKeys | null> {
  if (!masterKey) return null
  const proofKeys = new ProofKeyStore(dataDir)
  if (!(await proofKeys.exists())) {
    log.warn({}, 'No proof keys yet: run quloud proof-setup, then restart, to back up')
    return null
  }
  const pk = await proofKeys.provingKey()
  return new OwnerKeys(sodium, masterKey, () => proofKeys.provingKey(), await proofKeys.verificationKeyBytes(), sodium.sha256(pk))
}

/**
 * The node `quloud start` runs: storage node, owner engine (backups, restores, schedules), local
 * API and settings page in one process. `masterKey` is null for a locked node: it still serves
 * as a storage node and shows its settings page.
 */
export async function composeNode(config: Readonly<DaemonConfig>, opts: { version: string; log: Logger; masterKey: Uint8Array | null; adminPassword?: string }): Promise<ComposedNode> {
  const { keyring, dataDir } = await composeKeyring(config.dataDir)
  const { sodium } = composeCrypto()
  const identity = await keyring.identity()
  const startedAt = new Date().toISOString()
  const log = opts.log
  let listener: HttpListener | null = null
  let ownerService: OwnerService | null = null
  let ownerKeys: OwnerKeys | null = null
  let masterKey = opts.masterKey
  const status = async (): Promise<NodeStatus> => ({
    version: opts.version,
    nodeId: toHex(identity.nodeId),
    ownerId: ownerKeys ? toHex(ownerKeys.identity.nodeId) : null,
    initialized: await keyring.isInitialized(),
    locked: masterKey === null,
    ownerReady: ownerKeys !== null,
    dataDir: dataDir.path,
    webUrl: listener?.url ?? '',
    startedAt,
  })
  const token = await apiToken(dataDir, sodium)
  let peer: ComposedPeerServer | null = null
  let exchange: PeerExchange | null = null
  let engine: Awaited<ReturnType<typeof composeOwnerEngine>> | null = null
  /** Opens the owner engine, or reopens it with a master key (the settings page's setup or unlock). */
  const openOwner = async (key: Uint8Array | null) => {
    const old = engine
    engine = null
    await old?.close({ keepSnarkjs: true })
    engine = await composeOwnerEngine({ dataDir, identity, masterKey: key, log, catchUpSeconds: config.catchUpSeconds, watchDebounceSeconds: config.watchDebounceSeconds, auditSchedule: config.auditSchedule, auditDeadlineSeconds: config.auditDeadlineSeconds, onAlert: (e) => void alerter.notify(e), shareRoots: config.shareRoots, uploadLimitBytesPerSec: config.uploadLimitBytesPerSec })
    ownerService = engine.service
    ownerKeys = engine.ownerKeys
    masterKey = key
    await ownerService.start()
  }
  const { kdf } = composeCrypto()
  const admin = new AdminAuth({ sodium, kdf, dataDir })
  if (opts.adminPassword && !(await admin.isSet())) await admin.set(opts.adminPassword)
  const metrics = new PromMetricsExporter()
  const sinks: AlertSink[] = []
  if (config.alertWebhook) sinks.push(new WebhookAlertSink(config.alertWebhook))
  if (config.alertSmtpUrl && config.alertEmailTo) sinks.push(new SmtpAlertSink(config.alertSmtpUrl, config.alertEmailFrom ?? 'quloud@localhost', config.alertEmailTo))
  const alerter = new Alerter({ sinks, clock: composeCrypto().clock, log: log.child({ component: 'alerts' }), nodeId: toHex(identity.nodeId), backupWindowMs: config.alertBackupWindowHours * 3600_000 })
  const overdue = setInterval(() => {
    if (ownerService && !ownerService.locked) void alerter.checkOverdue(ownerService.listShares().map((s) => ({ name: s.name, imported: s.imported, createdAtMs: s.createdAtMs, lastBackupMs: s.lastBackupMs })))
  }, ALERT_CHECK_MS)
  overdue.unref()
  const control = new NodeControl({ keyring, admin, proofKeys: new ProofKeyStore(dataDir), runSetup: runOwnerSetup, openOwner, log: log.child({ component: 'control' }) })
  const daemon = new Daemon([
    {
      name: 'peer',
      open: async () => {
        peer = await composePeerServer({ dataDir: dataDir.path, listen: config.peerListen, identity, log, leaseDays: config.leaseDays, limits: { capacityBytes: config.storageCapacityBytes, perSenderBytes: config.storagePerOwnerBytes } })
      },
      close: async () => {
        await peer?.close()
      },
    },
    {
      name: 'discovery',
      open: async () => {
        const p = peer as unknown as ComposedPeerServer
        const { sodium: s, clock } = composeCrypto()
        exchange = new PeerExchange({
          directory: p.directory,
          connect: (url, c) => new HttpsPeerClient(url, { sodium: s, clock, retries: 0, timeoutMs: 10_000, ...c }),
          identity,
          ownAnnouncement: () => p.handler.announcement(),
          bootstrap: config.peers,
          log: log.child({ component: 'discovery' }),
          intervalMs: config.peerExchangeSeconds * 1000,
          ...(config.ssdp ? { lan: new SsdpDiscovery({ peerPort: new URL(p.url()).port ? Number(new URL(p.url()).port) : 443, udn: `uuid:${ssdpUuid(identity)}` }) } : {}),
        })
        await exchange.start()
      },
      close: async () => {
        await exchange?.close()
      },
    },
    {
      name: 'owner',
      open: async () => {
        await openOwner(masterKey)
        for (const url of config.peers) await (ownerService as OwnerService).addPeer(url).catch((err) => log.warn({ url, code: err instanceof BackupError ? err.code : 'UNKNOWN' }, 'A bootstrap peer could not be added'))
      },
      close: async () => {
        await engine?.close()
      },
    },
    {
      name: 'web',
      open: async () => {
        const p = peer as unknown as ComposedPeerServer
        const owner = () => ownerService as OwnerService
        const discovered = () => p.directory.list()
        const { clock } = composeCrypto()
        const sessions = new SessionStore({ clock, randomBytes: (n) => sodium.randomBytes(n) })
        const settings = (): SettingsView => ({
          webListen: listener?.url.replace(/\/$/, '') ?? `${config.webListen.host}:${config.webListen.port}`,
          peerListen: `${config.peerListen.host}:${config.peerListen.port}`,
          peerUrl: p.url(),
          ssdp: config.ssdp,
          bootstrapPeers: [...config.peers],
          shareRoots: [...config.shareRoots],
          auditSchedule: config.auditSchedule,
          leaseDays: config.leaseDays,
          storageCapacityBytes: config.storageCapacityBytes,
          uploadLimitBytesPerSec: config.uploadLimitBytesPerSec,
          alertEmailTo: config.alertSmtpUrl ? config.alertEmailTo : null,
          alertWebhook: config.alertWebhook ? `${new URL(config.alertWebhook).origin}/…` : null,
        })
        const web = createWebApp({
          status,
          log: log.child({ component: 'web' }),
          api: { status, owner, token, discovered, sessions },
          pages: { status, owner, control, admin, sessions, limiter: new LoginLimiter(clock), discovered, settings, storageUsage: () => p.storage.usage(),
            storageSenders: () => p.storage.senders().map((s) => ({ id: toHex(s.senderNodeId), usedBytes: s.usedBytes, quotaBytes: s.quotaBytes, ownQuota: s.ownQuota })),
            setStorageQuota: (id, bytes) => {
              const known = p.storage.senders().find((s) => toHex(s.senderNodeId) === id)
              if (!known) throw new BackupError('NOT_FOUND', 'no owner with that id keeps anything here')
              p.storage.setSenderQuota(known.senderNodeId, bytes)
            },
            saveSettings: async (c) => void (await new ConfigFile(dataDir, (e) => new NodeCronScheduler().validate(e)).update(c)), log: log.child({ component: 'pages' }) },
          metrics: () => metrics.render(nodeMetrics({ owner: owner(), discovered: discovered().length, storage: p.storage.usage() })),
        })
        listener = new HttpListener(web, config.webListen)
        await listener.open()
        await dataDir.writeAtomic(API_FILE, JSON.stringify({ url: listener.url, token }) + '\n', 0o600)
      },
      close: async () => {
        clearInterval(overdue)
        await listener?.close()
      },
    },
  ])
  return {
    daemon,
    webUrl: () => listener?.url ?? '',
    peerUrl: () => peer?.url() ?? '',
    peerCertSha256: () => (peer ? toHex(peer.handler.announcement().certSha256) : ''),
    status,
    owner: () => ownerService,
  }
}

/**
 * The owner engine on real adapters: index, spool, sealer threads, peer pool (signing as the
 * owner id when unlocked), provers, file-system source and restore target, cron and watches.
 */
export async function composeOwnerEngine(o: { dataDir: FsDataDir; identity: NodeIdentity; masterKey: Uint8Array | null; log: Logger; catchUpSeconds: number; watchDebounceSeconds: number; auditSchedule?: string | null; auditDeadlineSeconds?: number; onAlert?: (e: AlertEvent) => void; shareRoots?: readonly string[]; uploadLimitBytesPerSec?: number }) {
  const { sodium, clock } = composeCrypto()
  const { dataDir, log } = o
  const index = new SqliteIndexStore(dataDir.resolve('index.sqlite'))
  await index.open()
  const spool = packStore(dataDir.resolve('spool'), { directRead: false })
  await spool.open()
  const sealer = new WorkerChunkSealer()
  const ownerKeys = await loadOwnerKeys(dataDir, sodium, o.masterKey, log)
  const pool = new PeerPool({ index, connect: (url, c) => new HttpsPeerClient(url, { sodium, clock, ...fastCopy(), ...c }), identity: ownerKeys?.identity ?? o.identity, clock })
  const service = new OwnerService({
    sodium, clock, log: log.child({ component: 'owner' }), index, spool,
    ingest: new IngestService({ sodium, index, spool, clock, sealer, ...nativePacking() }),
    pool, poseidon: await CircomlibPoseidon.create(),
    makeProver: (pk) => new SnarkjsProver(pk),
    sourceFor: (path) => new FsSource(path),
    openTarget: (dir) => FsRestoreTarget.open(dir, restoreOptions()), opener: sealer,
    scheduler: new NodeCronScheduler(), watcher: new ChokidarWatcher(), dataDir,
    owner: ownerKeys, ...(o.masterKey && !ownerKeys ? { lockedReason: 'the owner has no proof keys yet: run "quloud proof-setup", then restart the node' } : {}), catchUpIntervalMs: o.catchUpSeconds * 1000, watchDebounceMs: o.watchDebounceSeconds * 1000,
    auditSchedule: o.auditSchedule ?? null, auditDeadlineMs: (o.auditDeadlineSeconds ?? DEFAULTS.auditDeadlineSeconds) * 1000,
    ...(o.onAlert ? { onAlert: o.onAlert } : {}), shareRoots: o.shareRoots ?? [], uploadLimitBytesPerSec: o.uploadLimitBytesPerSec ?? 0,
    heap: v8HeapTuning,
    releaseMemory: () => releaseMemory(sealer),
  })
  return {
    service,
    ownerKeys,
    /** `keepSnarkjs`: the node goes on (the owner engine is reopened), so snarkjs's threads stay for the storage node's verifier. */
    async close(opts: { keepSnarkjs?: boolean } = {}) {
      await service.close()
      await sealer.close()
      await spool.close()
      await index.close()
      if (!opts.keepSnarkjs) await terminateSnarkjs()
    },
  }
}

/** What `quloud recover` needs: an empty data folder's keyring, proof-key store and index, and a peer pool signing as the owner. */
export async function composeRecovery(dataDirPath: string, masterKey: Uint8Array, log: Logger) {
  const { sodium, clock } = composeCrypto()
  const { keyring, dataDir } = await composeKeyring(dataDirPath)
  const index = new SqliteIndexStore(dataDir.resolve('index.sqlite'))
  await index.open()
  const identity = identityFromSeed(sodium, deriveOwnerKeys(sodium, masterKey).signingSeed)
  const pool = new PeerPool({ index, connect: (url, c) => new HttpsPeerClient(url, { sodium, clock, ...fastCopy(), ...c }), identity, clock })
  return {
    deps: { sodium, clock, log, index, pool, keyring, proofKeys: new ProofKeyStore(dataDir), poseidon: await CircomlibPoseidon.create(), makeProver: (pk: Uint8Array) => new SnarkjsProver(pk) },
    dataDir,
    async close() {
      await pool.close()
      await index.close()
      await terminateSnarkjs()
    },
  }
}

/** How long a signed announcement is good for; it is re-signed well before it expires. */
export const ANNOUNCEMENT_TTL_MS = 24 * 3600_000

/** How often the storage node looks for owners whose lease ran out. */
export const LEASE_SWEEP_MS = 3600_000

export interface ComposedPeerServer {
  listener: HttpListener
  storage: StorageService
  handler: PeerHandler
  directory: PeerDirectory
  url: () => string
  close: () => Promise<void>
}

/**
 * The storage node and the federation protocol it serves (docs/PROTOCOL.md) on HTTPS: its storage
 * key and TLS certificate from the data folder (made on first start), the encrypted catalog and
 * object files, single-use nonces, the Groth16 verifier, and the signed announcement.
 */
export async function composePeerServer(opts: { dataDir: string; listen: { host: string; port: number }; identity: NodeIdentity; log: Logger; limits?: Partial<StorageLimits>; advertise?: string[]; requestTimeoutMs?: number; leaseDays?: number }): Promise<ComposedPeerServer> {
  const { sodium, clock } = composeCrypto()
  const dataDir = await FsDataDir.open(opts.dataDir)
  const keys = deriveStorageKeys(sodium, await loadOrCreateStorageKey(sodium, dataDir))
  // Ten years: renewing would change the pinned fingerprint, which peers learn only from a new announcement.
  const pems = await loadOrCreateTls(dataDir, () => makeSelfSignedCert({ validDays: 3650 }))
  const tls = describeTls(pems.certPem, pems.keyPem)
  const catalog = new SqliteStorageCatalog(dataDir.resolve('storage.sqlite'))
  await catalog.open()
  const objects = packStore(dataDir.resolve('objects'), { directRead: true })
  await objects.open()
  const storage = new StorageService({ sodium, keys, catalog, objects, clock, ...(opts.limits ? { limits: opts.limits } : {}) })
  const verifier = new SnarkjsVerifier()
  let listener: HttpListener | null = null
  let announced: Announcement | null = null
  const announcement = (): Announcement => {
    const now = clock.nowMs()
    if (!announced || announced.expiresAtMs - now < ANNOUNCEMENT_TTL_MS / 2) {
      const own = (listener?.url ?? '').replace(/\/$/, '')
      announced = signAnnouncement(sodium, opts.identity, { addresses: opts.advertise ?? [own], certSha256: tls.sha256, capacityBytes: storage.limits.capacityBytes, issuedAtMs: now, expiresAtMs: now + ANNOUNCEMENT_TTL_MS })
    }
    return announced
  }
  const publicStore = new PublicStore({ sodium, keys, catalog, objects })
  const directory = new PeerDirectory({ sodium, clock, self: () => opts.identity.nodeId })
  const handler = new PeerHandler({ sodium, clock, identity: opts.identity, storage, nonces: new NonceStore({ clock, randomBytes: (n) => sodium.randomBytes(n) }), verifier, announcement, publicStore, directory })
  const leaseMs = (opts.leaseDays ?? DEFAULTS.leaseDays) * 24 * 3600_000
  const app = createPeerApp({ sodium, clock, log: opts.log.child({ component: 'peer-api' }), handler, maxObjectBytes: storage.limits.maxObjectBytes, maxBlobBytes: publicStore.limits.maxBlobBytes, leaseMs })
  const sweep = async () => {
    const gone = await storage.sweepLeases(leaseMs)
    if (gone.objects > 0) opts.log.info({ objects: gone.objects, bytes: gone.bytes }, 'Deleted the objects of owners whose lease ran out')
  }
  await sweep()
  const sweeper = setInterval(() => void sweep().catch((err) => opts.log.warn({ code: err instanceof BackupError ? err.code : 'UNKNOWN' }, 'The lease sweep failed')), LEASE_SWEEP_MS)
  sweeper.unref()
  listener = new HttpListener(app, opts.listen, { tls: { certPem: tls.certPem, keyPem: tls.keyPem }, requestTimeoutMs: opts.requestTimeoutMs ?? 300_000 })
  await listener.open()
  // The proof verifier loads now, in the background, not at the first nonce: a restore's first
  // grant then waits only for the requester's proof (SnarkjsVerifier says what it costs).
  verifier.warm()
  const l = listener
  return {
    listener: l,
    storage,
    handler,
    directory,
    url: () => l.url.replace(/\/$/, ''),
    async close() {
      clearInterval(sweeper)
      await l.close()
      await verifier.close()
      await objects.close()
      await catalog.close()
    },
  }
}

/**
 * What `quloud conformance` runs with: a throwaway identity and owner, proof keys from a data
 * folder (or a fresh setup, minutes), a prover, Poseidon, and a client of the node under test.
 */
export async function composeConformance(url: string, opts: { keysFrom?: string; pinnedCertSha256?: Uint8Array; onSetupProgress?: (p: { step: number; steps: number; label: string }) => void }) {
  const { sodium, clock } = composeCrypto()
  let provingKey: Uint8Array
  let verificationKey: Record<string, unknown>
  if (opts.keysFrom) {
    const { store } = await composeProofKeys(opts.keysFrom)
    provingKey = await store.provingKey()
    verificationKey = await store.verificationKey()
  } else {
    ;({ provingKey, verificationKey } = await runOwnerSetup(opts.onSetupProgress))
  }
  const identity = identityFromSeed(sodium, sodium.randomBytes(32))
  const client = new HttpsPeerClient(url, { sodium, clock, identity, retries: 0, ...(opts.pinnedCertSha256 ? { pinnedCertSha256: opts.pinnedCertSha256 } : {}) })
  const prover = new SnarkjsProver(provingKey)
  const poseidon = await CircomlibPoseidon.create()
  return {
    deps: { sodium, poseidon, prover, verificationKey: new TextEncoder().encode(JSON.stringify(verificationKey)), client, raw: client, ownerNodeId: identity.nodeId, nowMs: () => clock.nowMs() },
    async close() {
      await client.close()
      await prover.close()
      await terminateSnarkjs()
    },
  }
}

/** A client of one peer, for the owner side and the conformance suite. */
export function composePeerClient(url: string, identity: NodeIdentity, extra: Partial<Omit<PeerClientOptions, 'identity'>> = {}) {
  const { sodium, clock } = composeCrypto()
  return new HttpsPeerClient(url, { sodium, clock, identity, ...extra })
}
