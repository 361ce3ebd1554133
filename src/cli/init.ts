import { resolve } from 'node:path'
import { composeKeyring } from '../app/compose.js'
import { resolveDataDir, ENV_VARS } from '../app/config/load.js'
import { toHex } from '../shared/bytes.js'
import { obtainPassphrase } from './passphrase.js'

export interface InitOptions {
  data?: string
  passphraseFile?: string
  json?: boolean
}

/** quloud init: creates the master key and prints the recovery key once. */
export async function runInit(opts: InitOptions): Promise<void> {
  const dataDir = resolve(resolveDataDir({ dataDir: opts.data }, process.env))
  const passphraseFile = opts.passphraseFile ?? process.env[ENV_VARS.passphraseFile] ?? null
  const { keyring } = await composeKeyring(dataDir)
  const passphrase = await obtainPassphrase(passphraseFile, { confirm: true })
  const { recoveryKey, identity } = await keyring.init(passphrase)
  if (opts.json) {
    process.stdout.write(JSON.stringify({ dataDir, nodeId: toHex(identity.nodeId), recoveryKey }) + '\n')
    return
  }
  process.stdout.write(
    [
      `Quloud is set up in ${dataDir}.`,
      '',
      'Your recovery key (shown this one time only):',
      '',
      `    ${recoveryKey}`,
      '',
      'Write it down on paper and keep it somewhere safe, away from this NAS.',
      'With it alone you can get every backup back if this NAS is lost; without it, nobody can.',
      '',
    ].join('\n'),
  )
}
