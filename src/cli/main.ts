import { Command, CommanderError, Option } from 'commander'
import { resolve } from 'node:path'
import { runInit, runProofSetup } from './init.js'
import { resolveDataDir } from '../app/config/load.js'
import { runStart } from './start.js'
import { runConformanceCommand } from './conformance.js'
import { reportError } from './report.js'
import { EXIT_USAGE } from './exit-codes.js'
import { VERSION } from './version.js'
import * as owner from './owner-commands.js'
import { runRecover } from './recover.js'
import { runDemo } from './demo.js'

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

  const dataOpt = '--data <dir>'
  const dataHelp = 'data folder of the running node (QULOUD_DATA_DIR, default ./quloud-data)'
  const share = program.command('share').description('add or remove a protected folder')
  share
    .command('add')
    .description('protect a folder: back it up on a schedule, as it changes, or when asked')
    .argument('<name>', 'a short name for the share')
    .argument('<path>', 'the folder')
    .option('--copies <n>', 'copies on distinct peers (default 3)')
    .option('--schedule <cron>', 'cron schedule, e.g. "0 3 * * *" (every night at 3)')
    .option('--watch', 'back up shortly after anything in the folder changes')
    .option(dataOpt, dataHelp)
    .option('--json', 'print JSON for scripts')
    .action((name, path, opts) => owner.shareAdd(name, path, opts))
  share.command('remove').description('stop protecting a share (copies on peers stay)').argument('<name>').option(dataOpt, dataHelp).option('--json', 'print JSON').action((name, opts) => owner.shareRemove(name, opts))
  share.command('list').description('list shares').option(dataOpt, dataHelp).option('--json', 'print JSON').action((opts) => owner.sharesList(opts))

  program.command('peer').description('manage peers').command('add').description('add a peer by address; its certificate is pinned').argument('<url>', 'https://host:port').option(dataOpt, dataHelp).option('--json', 'print JSON').action((url, opts) => owner.peerAdd(url, opts))
  program.command('peers').description('list peers').option(dataOpt, dataHelp).option('--json', 'print JSON').action((opts) => owner.peersList(opts))
  program.command('backup').description('back up a share now').argument('<name>').option('--wait', 'wait for it to finish, with progress').option(dataOpt, dataHelp).option('--json', 'print JSON').action((name, opts) => owner.backup(name, opts))
  program.command('snapshots').description('list the snapshots of a share').argument('<name>').option(dataOpt, dataHelp).option('--json', 'print JSON').action((name, opts) => owner.snapshots(name, opts))
  program
    .command('restore')
    .description('restore a share, folders or files from a snapshot (default: latest) into a folder')
    .argument('<name>')
    .argument('[snapshot-and-paths...]', 'SNAPSHOT (a number or "latest"), then share-relative paths')
    .requiredOption('--to <dir>', 'folder to restore into')
    .option(dataOpt, dataHelp)
    .option('--json', 'print JSON')
    .action((name, rest, opts) => owner.restore(name, rest, opts))
  program
    .command('recover')
    .description('after losing the NAS: rebuild this node from the recovery key and peer addresses')
    .option(dataOpt, 'an empty data folder for the recovered node')
    .option('--recovery-key-file <file>', 'file holding the recovery key')
    .option('--peer <url>', 'a peer that held your backups, repeatable', collect)
    .option('--passphrase-file <file>', 'passphrase for the new key file (QULOUD_PASSPHRASE_FILE)')
    .option('--to <dir>', 'also restore every share\'s newest snapshot into DIR/NAME')
    .option('--json', 'print JSON')
    .action((opts) => runRecover(opts))
  program.command('audit').description('audit every copy now and repair what is missing').option('--wait', 'wait for the audit and its repairs, with progress; exit non-zero if copies remain missing').option(dataOpt, dataHelp).option('--json', 'print JSON').action((opts) => owner.audit(opts))
  program.command('status').description('shares, copies and peers').option(dataOpt, dataHelp).option('--json', 'print JSON').action((opts) => owner.status(opts))
  const key = program.command('key').description('hand one share to a friend')
  key.command('export').description('print a share\'s key as text (and QR code)').argument('<name>').option('--qr', 'also print a QR code').option(dataOpt, dataHelp).option('--json', 'print JSON').action((name, opts) => owner.keyExport(name, opts))
  key.command('import').description('add a friend\'s share from its key text (list and restore only)').argument('<file>').option(dataOpt, dataHelp).option('--json', 'print JSON').action((file, opts) => owner.keyImport(file, opts))

  program
    .command('demo')
    .description('four nodes on 127.0.0.1 in a temporary folder: back up, restore, recover from the recovery key')
    .option('--keys-from <dir>', 'a data folder whose proof keys the demo owner uses (skips the minutes-long setup)')
    .option('--keep', 'keep the temporary folder afterwards')
    .action((opts) => runDemo(opts))

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
