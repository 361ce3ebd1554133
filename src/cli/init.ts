import { resolve } from 'node:path'
import { composeKeyring, composeProofKeys } from '../app/compose.js'
import { resolveDataDir, ENV_VARS } from '../app/config/load.js'
import { toHex } from '../shared/bytes.js'
import { obtainPassphrase } from './passphrase.js'

export interface InitOptions {
  data?: string
  passphraseFile?: string
  json?: boolean
  deferProofSetup?: boolean
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
  } else {
    printRecoveryKey(dataDir, recoveryKey)
  }
  if (opts.deferProofSetup) {
    process.stderr.write(`Proof keys not made yet: run "quloud proof-setup --data ${dataDir}" before the first backup.\n`)
    return
  }
  await runProofSetup(dataDir)
}

/** quloud proof-setup: the owner's own trusted setup, at init or later. */
export async function runProofSetup(dataDir: string): Promise<void> {
  const { store, runSetup } = await composeProofKeys(dataDir)
  const started = Date.now()
  process.stderr.write('Making your own zero-knowledge proof keys (a few minutes; nobody else can ever forge your proofs)…\n')
  await store.create(runSetup, (p) => process.stderr.write(`  step ${p.step}/${p.steps}: ${p.label} (${Math.round((Date.now() - started) / 1000)} s)\n`))
  process.stderr.write(`Proof keys ready in ${Math.round((Date.now() - started) / 1000)} s.\n`)
}

function printRecoveryKey(dataDir: string, recoveryKey: string): void {
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
