import { Command, CommanderError, Option } from 'commander'
import { resolve } from 'node:path'
import { runInit, runProofSetup } from './init.js'
import { resolveDataDir } from '../app/config/load.js'
import { runStart } from './start.js'
import { runConformanceCommand } from './conformance.js'
import { reportError } from './report.js'
import { EXIT_USAGE } from './exit-codes.js'
import { VERSION } from './version.js'

const collect = (value: string, previous: string[] = []) => [...previous, value]

/** `exitWith` takes the exit status of commands that finish normally with a non-zero one (conformance). */
export function buildProgram(exitWith: (code: number) => void = () => {}): Command {
  const program = new Command('quloud')
    .description('Trustless off-site backup for your NAS, stored encrypted on friends\' Quloud nodes')
    .version(VERSION)
    .exitOverride()

  program
    .command('init')
    .description('create the keys of a new node and print the recovery key once')
    .option('--data <dir>', 'data folder (QULOUD_DATA_DIR, default ./quloud-data)')
    .option('--passphrase-file <file>', 'file holding the key passphrase (QULOUD_PASSPHRASE_FILE)')
    .option('--json', 'print JSON for scripts')
    .option('--defer-proof-setup', 'skip the proof-key setup now (run quloud proof-setup later)')
    .action(async (opts) => runInit(opts))

  program
    .command('proof-setup')
    .description('make the owner\'s zero-knowledge proof keys (part of init, unless it was deferred)')
    .option('--data <dir>', 'data folder (QULOUD_DATA_DIR, default ./quloud-data)')
    .action(async (opts) => runProofSetup(resolve(resolveDataDir({ dataDir: opts.data }, process.env))))

  program
    .command('start')
    .description('run the node until Ctrl-C (SIGINT) or SIGTERM')
    .option('--data <dir>', 'data folder (QULOUD_DATA_DIR, default ./quloud-data)')
    .option('--passphrase-file <file>', 'unlock the owner keys with this passphrase file (QULOUD_PASSPHRASE_FILE)')
    .option('--peer-listen <host:port>', 'federation protocol address (QULOUD_PEER_LISTEN, default 127.0.0.1:30481)')
    .option('--web-listen <host:port>', 'settings page and API address (QULOUD_WEB_LISTEN, default 127.0.0.1:30480)')
    .option('--peer <url>', 'bootstrap peer, repeatable (QULOUD_PEERS)', collect)
    .addOption(new Option('--ssdp', 'discover peers on the LAN (QULOUD_SSDP)'))
    .addOption(new Option('--no-ssdp', 'do not use LAN discovery'))
    .action(async (opts) => runStart(opts))

  program
    .command('conformance')
    .description('check any Quloud node against the protocol (docs/PROTOCOL.md); exit 0 only if it conforms')
    .argument('<url>', 'the node\'s peer address, https://host:port')
    .option('--keys-from <dir>', 'a data folder whose proof keys the throwaway owner uses (otherwise a fresh setup runs, minutes)')
    .option('--cert <sha256>', 'pin the node\'s TLS certificate (its SHA-256, as quloud start prints it)')
    .option('--json', 'print JSON for scripts')
    .action(async (url, opts) => {
      exitWith(await runConformanceCommand(url, opts))
    })

  return program
}

export async function main(argv: string[]): Promise<number> {
  let exitCode = 0
  const program = buildProgram((code) => (exitCode = code))
  const json = argv.includes('--json')
  try {
    await program.parseAsync(argv)
    return exitCode
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : EXIT_USAGE
    return reportError(err, json)
  }
}
