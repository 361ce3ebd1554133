/**
 * The composition root: the only file that imports adapters. Everything else receives ports.
 */
import { SodiumNativeCrypto } from '../adapters/sodium/sodium-native-crypto.js'
import { Argon2PasswordKdf } from '../adapters/argon2/argon2-password-kdf.js'
import { SqliteIndexStore } from '../adapters/sqlite/sqlite-index-store.js'
import { FsObjectStore } from '../adapters/fs/fs-object-store.js'
import { FsSource } from '../adapters/fs/fs-source.js'
import { SystemClock } from '../adapters/system/system-clock.js'
import { WorkerChunkSealer } from '../adapters/sodium/worker-chunk-sealer.js'
import { FsDataDir } from '../adapters/fs/fs-data-dir.js'
import { HttpListener } from '../adapters/http/http-listener.js'
import { JsonLogger, debugComponentsFromEnv, type LogLevel } from '../adapters/log/json-logger.js'
import { createWebApp } from '../web/create-web-app.js'
import { toHex } from '../shared/bytes.js'
import { IngestService } from './ingest-service.js'
import { Keyring } from './keyring.js'
import { ProofKeyStore } from './proof-keys.js'
import { runOwnerSetup } from '../adapters/snarkjs/snarkjs-setup.js'
import { Daemon } from './daemon.js'
import type { DaemonConfig } from './config/defaults.js'
import type { NodeStatus } from './node-status.js'
import type { Logger } from '../core/ports/logger.js'

export function composeCrypto() {
  return { sodium: new SodiumNativeCrypto(), kdf: new Argon2PasswordKdf(), clock: new SystemClock() }
}

/** The owner ingest pipeline on real adapters, for the daemon and the ingest benchmark. */
export async function composeIngest(paths: { indexPath: string; spoolDir: string; sourceDir: string }) {
  const { sodium, clock } = composeCrypto()
  const index = new SqliteIndexStore(paths.indexPath)
  await index.open()
  const spool = new FsObjectStore(paths.spoolDir)
  await spool.open()
  const sealer = new WorkerChunkSealer()
  const ingest = new IngestService({ sodium, index, spool, clock, sealer })
  return {
    sodium,
    index,
    spool,
    ingest,
    source: new FsSource(paths.sourceDir),
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
  status: () => Promise<NodeStatus>
}

/**
 * The node `quloud start` runs. `masterKey` is null for a locked node (no passphrase given): it
 * still comes up and serves its settings page.
 */
export async function composeNode(config: Readonly<DaemonConfig>, opts: { version: string; log: Logger; masterKey: Uint8Array | null }): Promise<ComposedNode> {
  const { keyring, dataDir } = await composeKeyring(config.dataDir)
  const identity = await keyring.identity()
  const startedAt = new Date().toISOString()
  let listener: HttpListener | null = null
  const status = async (): Promise<NodeStatus> => ({
    version: opts.version,
    nodeId: toHex(identity.nodeId),
    initialized: await keyring.isInitialized(),
    locked: opts.masterKey === null,
    dataDir: dataDir.path,
    webUrl: listener?.url ?? '',
    startedAt,
  })
  const web = createWebApp({ status, log: opts.log.child({ component: 'web' }) })
  listener = new HttpListener(web, config.webListen)
  const daemon = new Daemon([{ name: 'web', open: () => (listener as HttpListener).open(), close: () => (listener as HttpListener).close() }])
  return { daemon, webUrl: () => listener?.url ?? '', status }
}
