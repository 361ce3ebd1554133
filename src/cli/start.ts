import { resolve } from 'node:path'
import { readFile } from 'node:fs/promises'
import { composeKeyring, composeLogger, composeNode, tuneHeapForNode } from '../app/compose.js'
import { resolveConfig, resolveDataDir, type ConfigFlags } from '../app/config/load.js'
import { ioFailed } from '../core/errors.js'
import { readPassphraseFile } from './passphrase.js'
import { VERSION } from './version.js'

export interface StartOptions {
  data?: string
  passphraseFile?: string
  peerListen?: string
  webListen?: string
  peer?: string[]
  ssdp?: boolean
}

async function readConfigFile(dataDir: string): Promise<string | null> {
  try {
    return await readFile(resolve(dataDir, 'config.json'), 'utf8')
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return null
    throw ioFailed('reading config.json', err)
  }
}

/** quloud start: runs the node until SIGINT or SIGTERM, then stops cleanly. */
export async function runStart(opts: StartOptions): Promise<void> {
  tuneHeapForNode()
  const flags: ConfigFlags = {}
  if (opts.data !== undefined) flags.dataDir = opts.data
  if (opts.webListen !== undefined) flags.webListen = opts.webListen
  if (opts.peerListen !== undefined) flags.peerListen = opts.peerListen
  if (opts.passphraseFile !== undefined) flags.passphraseFile = opts.passphraseFile
  if (opts.peer !== undefined && opts.peer.length > 0) flags.peers = opts.peer
  if (opts.ssdp !== undefined) flags.ssdp = opts.ssdp
  const dataDir = resolve(resolveDataDir(flags, process.env))
  const config = resolveConfig({ flags: { ...flags, dataDir }, env: process.env, fileText: await readConfigFile(dataDir) })
  const log = composeLogger(config.logLevel)

  let masterKey: Uint8Array | null = null
  if (config.passphraseFile) {
    const { keyring } = await composeKeyring(config.dataDir)
    if (await keyring.isInitialized()) masterKey = await keyring.unlock(await readPassphraseFile(config.passphraseFile))
  }
  // The NAS templates may pass the settings page's admin password; it is hashed at start and
  // dropped from this process's environment.
  const adminPassword = process.env.QULOUD_ADMIN_PASSWORD || undefined
  delete process.env.QULOUD_ADMIN_PASSWORD
  // Listening starts inside open(): a signal from then on must stop the node cleanly, so the
  // handlers are in place before it (a SIGTERM right after the health check answered used to
  // meet the default action and kill the node).
  let stopSignal: string | null = null
  let onStop = () => {}
  const stop = (signal: string) => {
    stopSignal ??= signal
    onStop()
  }
  process.once('SIGINT', () => stop('SIGINT'))
  process.once('SIGTERM', () => stop('SIGTERM'))
  const node = await composeNode(config, { version: VERSION, log, masterKey, ...(adminPassword ? { adminPassword } : {}) })
  await node.daemon.open()
  const status = await node.status()
  const keys = !status.initialized ? `not set up yet — run: quloud init --data ${config.dataDir}` : status.locked ? 'locked (start with --passphrase-file to back up)' : 'unlocked'
  process.stdout.write(
    [
      `Quloud ${VERSION} node ${status.nodeId.slice(0, 16)} is running.`,
      `  settings page and API: ${node.webUrl()}`,
      `  health check:          ${node.webUrl()}healthz`,
      `  data folder:           ${config.dataDir}`,
      `  keys:                  ${keys}`,
      `  peer protocol:         ${node.peerUrl()} (TLS certificate sha256 ${node.peerCertSha256()})`,
      `  discovery:             LAN (SSDP) ${config.ssdp ? 'on' : 'off'}, ${config.peers.length} bootstrap address(es), peer exchange every ${config.peerExchangeSeconds} s`,
      `  audits:                "${config.auditSchedule}" (cron)`,
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  )
  if (stopSignal === null) await new Promise<void>((resolveStop) => (onStop = resolveStop))
  process.stdout.write(`Received ${stopSignal}: stopping…\n`)
  await node.daemon.close()
  process.stdout.write('Quloud stopped.\n')
}
