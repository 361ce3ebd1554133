/**
 * npm run bench:e2e — Quloud end to end against restic, one script; the last stdout line is JSON.
 *   (a) a 3-copy backup of a generated ~1 GiB corpus by an owner process to three storage node
 *       processes on loopback, against restic backing the same corpus into 3 local repositories
 *       one after another: backup_ratio = restic's 3-repository time / Quloud's time (target ≥ 1.0)
 *   (b) an unchanged rescan of 100,000 small files (the second backup) against restic's second
 *       backup of them: rescan_ratio = Quloud's time / restic's time (target ≤ 0.5)
 *   (c) restoring the whole corpus from the peers against `restic restore`:
 *       restore_ratio = Quloud MB/s / restic MB/s (target ≥ 1.0)
 *   (d) the owner process's peak RSS (VmHWM) backing up 1 GiB and 4 GiB: rss_mb_1g, rss_mb_4g
 *       (targets: within 20% of each other, both under 250 MB)
 * The nodes are the compiled program (dist/, built when missing). Quloud times are the node's own job times (the daemon is already running; no CLI start-up);
 * restic times are its processes' wall times. Each timed phase starts after a sync (no dirty pages). QULOUD_BENCH_E2E_SCALE (default 1) scales every
 * corpus down for smoke runs; QULOUD_BENCH_DIR picks the scratch folder.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, mkdirSync, openSync, writeSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { randomFillSync } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { ownerSetup } from '../test/helpers/zk.js'
import { ensureRestic } from './restic.js'
import { ensureBuilt } from '../test/helpers/build.js'

const SCALE = Number(process.env.QULOUD_BENCH_E2E_SCALE ?? 1)
const MIB = 1024 * 1024
const root = mkdtempSync(join(process.env.QULOUD_BENCH_DIR ?? tmpdir(), 'quloud-bench-e2e-'))
// The compiled node, as the NAS packages run it (tsx's on-the-fly compiler would count in the RSS).
const bin = new URL('../dist/cli/bin.js', import.meta.url).pathname
const log = (msg: string) => console.error(`[bench:e2e] ${msg}`)
const resticEnv = { ...process.env, RESTIC_PASSWORD: 'bench-only-password', RESTIC_CACHE_DIR: join(root, 'restic-cache') }

interface Node {
  child: ChildProcess
  peerUrl: string
  api: (method: string, path: string, body?: unknown) => Promise<any>
  stop: () => Promise<void>
}

const children: ChildProcess[] = []

async function startNode(data: string, extra: string[] = []): Promise<Node> {
  // The environment the NAS packages and npm start run with (RUNTIME_ENV in scripts/packaging/render-common.ts).
  const env = { ...process.env, MALLOC_MMAP_THRESHOLD_: '131072', NODE_OPTIONS: '--max-semi-space-size=4', QULOUD_LOG_LEVEL: 'warn', QULOUD_STORAGE_CAPACITY_BYTES: String(200 * 1024 * MIB), QULOUD_STORAGE_PER_OWNER_BYTES: String(100 * 1024 * MIB), QULOUD_CATCH_UP_SECONDS: '3600' }
  const child = spawn(process.execPath, [bin, 'start', '--data', data, '--web-listen', '127.0.0.1:0', '--peer-listen', '127.0.0.1:0', ...extra], { stdio: ['ignore', 'pipe', 'inherit'], env })
  children.push(child)
  let out = ''
  child.stdout?.on('data', (d) => (out += d))
  const deadline = Date.now() + 60_000
  while (!/Press Ctrl-C/.test(out)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`a node did not start:\n${out}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  const { url, token } = JSON.parse(readFileSync(join(data, 'api.json'), 'utf8')) as { url: string; token: string }
  const api = async (method: string, path: string, body?: unknown): Promise<any> => {
    const send = () => fetch(`${url}api/v1${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) })
    // A kept-alive connection the node closed (idle) just as it was reused is retried once, for
    // any method: the node closes only connections with no request on them, so nothing ran.
    const closedIdle = (err: any) => err?.cause?.code === 'UND_ERR_SOCKET' && /other side closed/.test(String(err?.cause?.message))
    const res = await send().catch((err) => (method === 'GET' || closedIdle(err) ? send() : Promise.reject(err)))
    const json = await res.json()
    if (!res.ok) throw new Error(`${method} ${path}: ${JSON.stringify(json)}`)
    return json
  }
  return { child, peerUrl: /peer protocol: +(https:\/\/\S+)/.exec(out)?.[1] as string, api, stop: () => new Promise((r) => (child.once('close', () => r()), child.kill('SIGTERM'))) }
}

/** Runs a job through the API and returns its time as the node measured it, in seconds. */
async function job(node: Node, path: string, body?: unknown): Promise<{ s: number; result: any }> {
  const j = await node.api('POST', path, body)
  for (;;) {
    const now = await node.api('GET', `/jobs/${j.id}`)
    if (now.state === 'failed') throw new Error(`job failed: ${JSON.stringify(now.error)}`)
    if (now.state === 'done') return { s: (now.finishedAtMs - now.startedAtMs) / 1000, result: now.result }
    await new Promise((r) => setTimeout(r, 100))
  }
}

function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Math.round(Number(m[1]) / 1024) : NaN
}

/** Random (incompressible) files: a few large, many mid-sized, some small, in folders. */
function corpus(dir: string, mb: number): number {
  mkdirSync(dir, { recursive: true })
  let total = 0
  const buf = Buffer.alloc(8 * MIB)
  const file = (path: string, bytes: number) => {
    const fd = openSync(path, 'w')
    for (let at = 0; at < bytes; at += buf.length) {
      const n = Math.min(buf.length, bytes - at)
      randomFillSync(buf, 0, n)
      writeSync(fd, buf, 0, n)
    }
    closeSync(fd)
    total += bytes
  }
  const target = Math.floor(mb * MIB)
  let i = 0
  while (total < target * 0.4) file(join(dir, `large-${i++}.bin`), Math.floor(Math.min(100 * MIB, target * 0.4 - total + 1)))
  for (let d = 0; total < target * 0.85; d++) {
    mkdirSync(join(dir, `album-${d}`), { recursive: true })
    for (let k = 0; k < 20 && total < target * 0.85; k++) file(join(dir, `album-${d}`, `photo-${k}.jpg`), 2 * MIB + ((d * 20 + k) % 7) * 131_071)
  }
  for (let d = 0; total < target; d++) {
    mkdirSync(join(dir, `docs-${d}`), { recursive: true })
    for (let k = 0; k < 100 && total < target; k++) file(join(dir, `docs-${d}`, `note-${k}.txt`), 20_000 + ((d * 100 + k) % 13) * 3001)
  }
  return total
}

function smallFiles(dir: string, count: number): void {
  const buf = Buffer.alloc(1024)
  for (let d = 0; d * 100 < count; d++) {
    mkdirSync(join(dir, `d${d}`), { recursive: true })
    for (let k = 0; k < 100 && d * 100 + k < count; k++) writeFileSync(join(dir, `d${d}`, `f${k}.txt`), randomFillSync(buf))
  }
}

/**
 * Every timed phase, of either tool, starts with no dirty pages: otherwise the kernel writing back
 * what the phase before wrote (restic's repositories are gigabytes) lands in the next one's time.
 */
function settle(): void {
  execFileSync('sync')
}

function timed(fn: () => void): number {
  const t0 = performance.now()
  fn()
  return (performance.now() - t0) / 1000
}

const restic = (args: string[]) => execFileSync('restic', args, { env: resticEnv, stdio: ['ignore', 'ignore', 'inherit'] })

async function main() {
  log(`scratch ${root}; ${ensureRestic(log)}; scale ${SCALE}`)
  await ensureBuilt()
  const stores = await Promise.all([1, 2, 3].map((i) => startNode(join(root, `store-${i}`))))
  const ownerData = join(root, 'owner')
  const pw = join(root, 'pw')
  writeFileSync(pw, 'bench passphrase only\n')
  execFileSync(process.execPath, [bin, 'init', '--data', ownerData, '--passphrase-file', pw, '--defer-proof-setup', '--json'], { stdio: 'ignore' })
  const keys = await ownerSetup('a')
  writeFileSync(join(ownerData, 'proving-key.zkey'), keys.provingKey)
  writeFileSync(join(ownerData, 'verification-key.json'), JSON.stringify(keys.verificationKey) + '\n')
  let owner = await startNode(ownerData, ['--passphrase-file', pw])
  for (const s of stores) await owner.api('POST', '/peers', { url: s.peerUrl })

  // (a) 1 GiB, three copies.
  const corpusDir = join(root, 'corpus-1g')
  const bytes = corpus(corpusDir, Math.round(1024 * SCALE))
  const mb = bytes / 1e6
  log(`corpus ${mb.toFixed(0)} MB`)
  await owner.api('POST', '/shares', { name: 'c1', path: corpusDir, copies: 3 })
  settle()
  const backup = await job(owner, '/shares/c1/backups')
  if (backup.result.result !== 'complete') throw new Error('the backup did not reach three copies')
  const rss1 = peakRssMb(owner.child.pid as number)
  log(`quloud 3-copy backup ${backup.s.toFixed(1)} s, owner peak RSS ${rss1} MB`)
  const repos = [1, 2, 3].map((i) => join(root, `restic-${i}`))
  for (const r of repos) restic(['init', '--repo', r])
  const resticBackup = repos.map((r) => (settle(), timed(() => restic(['backup', '--repo', r, '--quiet', corpusDir])))).reduce((a, b) => a + b, 0)
  log(`restic into 3 repositories ${resticBackup.toFixed(1)} s`)

  // (c) restore the whole corpus.
  settle()
  const restore = await job(owner, '/shares/c1/restores', { snapshot: 'latest', paths: [], to: join(root, 'quloud-restored') })
  settle()
  const resticRestore = timed(() => restic(['restore', 'latest', '--repo', repos[0] as string, '--target', join(root, 'restic-restored'), '--quiet']))
  log(`restore: quloud ${restore.s.toFixed(1)} s (${(restore.result.bytesFetched / 1e6).toFixed(0)} MB fetched), restic ${resticRestore.toFixed(1)} s`)
  rmSync(join(root, 'quloud-restored'), { recursive: true, force: true })
  rmSync(join(root, 'restic-restored'), { recursive: true, force: true })

  // (b) 100,000 small files, backed up twice; the second run finds nothing changed.
  const files = Math.max(1000, Math.round(100_000 * SCALE))
  const small = join(root, 'small')
  smallFiles(small, files)
  await owner.api('POST', '/shares', { name: 'small', path: small, copies: 3 })
  await job(owner, '/shares/small/backups')
  settle()
  const rescan = await job(owner, '/shares/small/backups')
  if (rescan.result.filesUnchanged !== files) throw new Error(`the rescan read ${rescan.result.filesRead} files again`)
  const smallRepo = join(root, 'restic-small')
  restic(['init', '--repo', smallRepo])
  restic(['backup', '--repo', smallRepo, '--quiet', small])
  settle()
  const resticRescan = timed(() => restic(['backup', '--repo', smallRepo, '--quiet', small]))
  log(`rescan of ${files} files: quloud ${rescan.s.toFixed(2)} s, restic ${resticRescan.toFixed(2)} s`)

  // (d) peak RSS with a 4 GiB corpus, in a fresh owner process.
  rmSync(small, { recursive: true, force: true })
  await owner.stop()
  owner = await startNode(ownerData, ['--passphrase-file', pw])
  const big = join(root, 'corpus-4g')
  corpus(big, Math.round(4096 * SCALE))
  await owner.api('POST', '/shares', { name: 'c4', path: big, copies: 3 })
  const backup4 = await job(owner, '/shares/c4/backups')
  const rss4 = peakRssMb(owner.child.pid as number)
  log(`4 GiB backup ${backup4.s.toFixed(1)} s, owner peak RSS ${rss4} MB`)
  await owner.stop()
  await Promise.all(stores.map((s) => s.stop()))

  const out = {
    corpus_mb: Math.round(mb),
    backup_s: +backup.s.toFixed(2),
    restic_backup_3_repos_s: +resticBackup.toFixed(2),
    backup_ratio: +(resticBackup / backup.s).toFixed(2),
    rescan_files: files,
    rescan_s: +rescan.s.toFixed(2),
    restic_rescan_s: +resticRescan.toFixed(2),
    rescan_ratio: +(rescan.s / resticRescan).toFixed(2),
    restore_mb_s: +(mb / restore.s).toFixed(1),
    restic_restore_mb_s: +(mb / resticRestore).toFixed(1),
    restore_ratio: +(resticRestore / restore.s).toFixed(2),
    rss_mb_1g: rss1,
    rss_mb_4g: rss4,
    scale: SCALE,
  }
  const targets = { backup: out.backup_ratio >= 1, rescan: out.rescan_ratio <= 0.5, restore: out.restore_ratio >= 1, rss: Math.abs(rss4 - rss1) <= 0.2 * Math.min(rss1, rss4) && Math.max(rss1, rss4) < 250 }
  console.log(JSON.stringify({ ...out, targets_met: targets }))
}

try {
  await main()
} finally {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
  await new Promise((r) => setTimeout(r, 500))
  rmSync(root, { recursive: true, force: true })
}
