import { spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { copyFile, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { BackupError } from '../core/errors.js'

export interface DemoOptions {
  keysFrom?: string
  keep?: boolean
}

interface Proc {
  child: ChildProcess
  /** stdout and stderr together, as they came. */
  out: () => string
  stdout: () => string
  closed: Promise<number | null>
}

const say = (line: string) => process.stdout.write(`${line}\n`)
const demoFailed = (why: string) => new BackupError('IO_FAILED', `the demo failed: ${why}`)

/** This very program, as a child process (bin/quloud in a checkout, dist/cli/bin.js when built). */
function quloud(args: string[]): Proc {
  const child = spawn(process.execPath, [process.argv[1] as string, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, QULOUD_LOG_LEVEL: 'warn', QULOUD_SSDP: 'false', QULOUD_CATCH_UP_SECONDS: '5' } })
  let out = ''
  let stdout = ''
  child.stdout?.on('data', (d) => {
    out += d
    stdout += d
  })
  child.stderr?.on('data', (d) => (out += d))
  return { child, out: () => out, stdout: () => stdout, closed: new Promise((r) => child.on('close', r)) }
}

/** Runs one command to its end; returns its stdout. */
async function run(args: string[]): Promise<string> {
  const p = quloud(args)
  const code = await p.closed
  if (code !== 0) throw demoFailed(`quloud ${args[0]} exited ${code}:\n${p.out()}`)
  return p.stdout()
}

async function startNode(data: string, extra: string[] = []): Promise<Proc & { peerUrl: string }> {
  const p = quloud(['start', '--data', data, '--web-listen', '127.0.0.1:0', '--peer-listen', '127.0.0.1:0', '--no-ssdp', ...extra])
  const deadline = Date.now() + 60_000
  while (!/Press Ctrl-C to stop/.test(p.out())) {
    if (p.child.exitCode !== null || Date.now() > deadline) throw demoFailed(`a node did not start:\n${p.out()}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  const peerUrl = /peer protocol: +(https:\/\/\S+)/.exec(p.out())?.[1] ?? ''
  return { ...p, peerUrl }
}

/** A small but varied folder: nested, unicode names, an empty file, a symlink, a few MB of data. */
async function generate(root: string): Promise<void> {
  await mkdir(join(root, 'Urlaub 2026', 'Strand'), { recursive: true })
  await mkdir(join(root, 'documents', 'empty folder'), { recursive: true })
  for (let i = 0; i < 12; i++) await writeFile(join(root, 'Urlaub 2026', 'Strand', `IMG_${1000 + i}.jpg`), randomBytes(150_000 + i * 37_000))
  await writeFile(join(root, 'documents', 'letter — brief.txt'), 'Dear friend,\nthanks for keeping my backups.\n'.repeat(200))
  await writeFile(join(root, 'documents', 'empty.txt'), '')
  await writeFile(join(root, 'video.bin'), randomBytes(6 * 1024 * 1024))
  await symlink('documents/letter — brief.txt', join(root, 'latest-letter'))
}

async function describe(root: string, rel = ''): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  for (const name of (await readdir(join(root, rel))).sort()) {
    const path = rel ? `${rel}/${name}` : name
    const st = await lstat(join(root, path))
    if (st.isDirectory()) {
      out.set(`${path}/`, 'dir')
      for (const [k, v] of await describe(root, path)) out.set(k, v)
    } else if (st.isSymbolicLink()) out.set(path, `-> ${await readlink(join(root, path))}`)
    else out.set(path, `${st.mode & 0o777} ${Math.round(st.mtimeMs)} ${createHash('sha256').update(await readFile(join(root, path))).digest('hex')}`)
  }
  return out
}

async function same(a: string, b: string, what: string): Promise<void> {
  const [x, y] = [await describe(a), await describe(b)]
  const diff = [...new Set([...x.keys(), ...y.keys()])].filter((k) => x.get(k) !== y.get(k))
  if (diff.length > 0) throw demoFailed(`${what} differs from the original in ${diff.slice(0, 5).join(', ')}`)
  say(`    ${x.size} entries identical to the original: contents, modes, times, symlinks.`)
}

/**
 * quloud demo: four nodes on 127.0.0.1 in a temporary folder (SSDP off). Backs up a generated
 * folder to three of them, restores it, then recovers it on a fresh node from the recovery key
 * alone, and cleans up. Every node is a separate process of this program.
 */
export async function runDemo(o: DemoOptions): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'quloud-demo-'))
  const procs: Proc[] = []
  try {
    say(`==> Working in ${dir}`)
    say('==> Starting three storage nodes (each a separate process; they keep what others send, encrypted twice)')
    const stores = await Promise.all(['friend-1', 'friend-2', 'friend-3'].map((n) => startNode(join(dir, n))))
    procs.push(...stores)
    for (const s of stores) say(`    ${s.peerUrl}`)
    const pw = join(dir, 'passphrase')
    await writeFile(pw, 'demo passphrase, not for real use\n', { mode: 0o600 })
    const ownerData = join(dir, 'my-nas')
    say('==> Setting up the owner: master key, recovery key, and its own zero-knowledge proof keys')
    let init: { recoveryKey: string }
    if (o.keysFrom) {
      init = JSON.parse(await run(['init', '--data', ownerData, '--passphrase-file', pw, '--defer-proof-setup', '--json']))
      for (const f of ['proving-key.zkey', 'verification-key.json']) await copyFile(join(resolve(o.keysFrom), f), join(ownerData, f))
      say(`    proof keys taken from ${o.keysFrom}`)
    } else {
      say('    (the proof-key setup takes a minute or two; nobody else ever holds the secret behind it)')
      init = JSON.parse(await run(['init', '--data', ownerData, '--passphrase-file', pw, '--json']))
    }
    // Written down on paper in real life; here, a file the recovery step reads.
    const keyFile = join(dir, 'recovery-key.txt')
    await writeFile(keyFile, `${init.recoveryKey}\n`, { mode: 0o600 })
    say('    the recovery key was shown once (here it goes to a file for the recovery step)')
    say('==> Starting the owner node (unlocked with its passphrase)')
    const owner = await startNode(ownerData, ['--passphrase-file', pw])
    procs.push(owner)
    const cli = (args: string[]) => run([...args, '--data', ownerData])
    for (const s of stores) await cli(['peer', 'add', s.peerUrl])
    say('    added the three storage nodes as peers; their certificates are pinned')
    const photos = join(dir, 'photos')
    await generate(photos)
    say(`==> Protecting ${photos} with 3 copies and backing it up`)
    await cli(['share', 'add', 'photos', photos, '--copies', '3'])
    const backup = JSON.parse(await cli(['backup', 'photos', '--wait', '--json']))
    say(`    snapshot ${backup.snapshot}: ${backup.result}, ${backup.filesRead} files, ${(backup.bytesRead / 1e6).toFixed(1)} MB, every pack on 3 peers with a signed receipt`)
    say('==> Restoring the whole share into a new folder (fetched from the peers with ownership proofs)')
    await cli(['restore', 'photos', 'latest', '--to', join(dir, 'restored')])
    await same(photos, join(dir, 'restored'), 'the restore')
    say('==> Disaster: the owner NAS is gone. A fresh node recovers from the recovery key and one peer address')
    owner.child.kill('SIGTERM')
    await owner.closed
    await rm(ownerData, { recursive: true, force: true })
    const out = JSON.parse(await run(['recover', '--data', join(dir, 'new-nas'), '--recovery-key-file', keyFile, '--peer', stores[0]?.peerUrl ?? '', '--passphrase-file', pw, '--to', join(dir, 'recovered'), '--json']))
    say(`    found ${out.shares.length} share(s) and ${out.peers} peer(s) from the owner pointer; restored ${out.restored.map((r: { share: string; filesDone: number }) => `"${r.share}" (${r.filesDone} files)`).join(', ')}`)
    await same(photos, join(dir, 'recovered', 'photos'), 'the recovered share')
    say('==> Done: backed up to three peers, restored, and recovered from the recovery key alone.')
  } finally {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGTERM')
    await Promise.all(procs.map((p) => p.closed))
    if (!o.keep) await rm(dir, { recursive: true, force: true })
  }
}
