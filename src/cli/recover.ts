import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { composeKeyring, composeLogger, composeOwnerEngine, composeRecovery } from '../app/compose.js'
import { recoverOwner } from '../app/owner/recover-service.js'
import { resolveDataDir, ENV_VARS } from '../app/config/load.js'
import { configInvalid, ioFailed } from '../core/errors.js'
import { parseRecoveryKey } from '../core/crypto/index.js'
import { obtainPassphrase } from './passphrase.js'

export interface RecoverOptions {
  data?: string
  recoveryKeyFile?: string
  peer?: string[]
  passphraseFile?: string
  to?: string
  json?: boolean
}

/**
 * quloud recover: rebuilds a node's keys, shares and snapshots in an empty data folder from the
 * recovery key and peer addresses; with --to, also restores every share's newest snapshot.
 */
export async function runRecover(o: RecoverOptions): Promise<void> {
  const dataDir = resolve(resolveDataDir({ dataDir: o.data }, process.env))
  if (!o.recoveryKeyFile) throw configInvalid('recover needs --recovery-key-file FILE (the recovery key, as written down)')
  let keyText: string
  try {
    keyText = await readFile(o.recoveryKeyFile, 'utf8')
  } catch (err) {
    throw ioFailed(`reading ${o.recoveryKeyFile}`, err)
  }
  const masterKey = parseRecoveryKey(keyText)
  const passphrase = await obtainPassphrase(o.passphraseFile ?? process.env[ENV_VARS.passphraseFile] ?? null, { confirm: true })
  const say = (line: string) => {
    if (!o.json) process.stderr.write(`${line}\n`)
  }
  const log = composeLogger('warn')
  say(`Looking for your backups on ${o.peer?.length ?? 0} peer(s)…`)
  const env = await composeRecovery(dataDir, masterKey, log)
  let result
  try {
    result = await recoverOwner(env.deps, { masterKey, passphrase, peers: o.peer ?? [] })
  } finally {
    await env.close()
  }
  for (const s of result.shares) say(`  found share "${s.name}" (${s.path}): ${s.snapshots} snapshot(s)`)
  const restored: Array<Record<string, unknown>> = []
  if (o.to) {
    const { keyring, dataDir: dir } = await composeKeyring(dataDir)
    const engine = await composeOwnerEngine({ dataDir: dir, identity: await keyring.identity(), masterKey, log, catchUpSeconds: 3600, watchDebounceSeconds: 5 })
    try {
      for (const s of result.shares) {
        if (s.snapshots === 0) continue
        const target = join(resolve(o.to), s.name)
        say(`Restoring "${s.name}" into ${target}…`)
        restored.push({ share: s.name, to: target, ...(await engine.service.runRestore(s.name, 'latest', [], target)) })
      }
    } finally {
      await engine.close()
    }
  }
  if (o.json) process.stdout.write(`${JSON.stringify({ dataDir, shares: result.shares.map((s) => ({ name: s.name, path: s.path, snapshots: s.snapshots })), peers: result.peers, restored })}\n`)
  else {
    process.stdout.write(`Recovered ${result.shares.length} share(s) into ${dataDir} with ${result.peers} peer(s).\n`)
    for (const r of restored) process.stdout.write(`  restored "${r.share}" snapshot ${r.snapshot} into ${r.to}: ${r.filesDone} files\n`)
    if (!o.to) process.stdout.write(`Start the node with: quloud start --data ${dataDir} --passphrase-file …, then quloud restore NAME latest --to DIR\n`)
  }
}
