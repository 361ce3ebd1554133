/**
 * npm run bench:ingest — the owner ingest pipeline against `restic backup` of the same corpus,
 * in the same script on the same machine. Last stdout line:
 *   {"quloud_mb_s", "restic_mb_s", "ratio", "peak_rss_mb", "corpus_mb", ...}
 * Env: QULOUD_BENCH_CORPUS_MB (default 1024) scales the corpus; QULOUD_BENCH_DIR picks the folder.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, copyFileSync } from 'node:fs'
import { randomFillSync } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { ensureRestic } from './restic.js'

const MIB = 1024 * 1024
const corpusMb = Number(process.env.QULOUD_BENCH_CORPUS_MB ?? 1024)
const root = mkdtempSync(join(process.env.QULOUD_BENCH_DIR ?? tmpdir(), 'quloud-bench-ingest-'))
const log = (msg: string) => console.error(`[bench:ingest] ${msg}`)

/** ~60% large random files, ~20% small files in many folders, ~20% duplicated content. */
function makeCorpus(dir: string): number {
  let total = 0
  const random = (n: number) => randomFillSync(new Uint8Array(n))
  const largeCount = 6
  const largeBytes = Math.round((corpusMb * 0.6 * MIB) / largeCount)
  mkdirSync(join(dir, 'media'), { recursive: true })
  for (let i = 0; i < largeCount; i++) {
    writeFileSync(join(dir, 'media', `video-${i}.bin`), random(largeBytes))
    total += largeBytes
  }
  const smallTarget = corpusMb * 0.2 * MIB
  let small = 0
  let n = 0
  while (small < smallTarget) {
    const folder = join(dir, 'documents', `folder-${Math.floor(n / 100)}`)
    if (n % 100 === 0) mkdirSync(folder, { recursive: true })
    const size = 512 + ((n * 7919) % (24 * 1024))
    writeFileSync(join(folder, `note-${n}.txt`), random(size))
    small += size
    n++
  }
  total += small
  mkdirSync(join(dir, 'copies'), { recursive: true })
  let dup = 0
  for (let i = 0; dup < corpusMb * 0.2 * MIB - largeBytes / 4; i++) {
    copyFileSync(join(dir, 'media', `video-${i % largeCount}.bin`), join(dir, 'copies', `video-${i}-copy.bin`))
    dup += largeBytes
  }
  total += dup
  log(`corpus: ${largeCount} large files, ${n} small files, ${(dup / MIB).toFixed(0)} MiB duplicated, ${(total / MIB).toFixed(0)} MiB in all`)
  return total
}

function runQuloud(corpus: string): { seconds: number; peakRssMb: number; stats: unknown } {
  const work = join(root, 'quloud-work')
  mkdirSync(work)
  const out = execFileSync(process.execPath, ['--import=tsx', new URL('./ingest-run.ts', import.meta.url).pathname, corpus, work], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
  const last = out.trim().split('\n').pop() as string
  return JSON.parse(last)
}

function runRestic(corpus: string): number {
  const repo = join(root, 'restic-repo')
  const env = { ...process.env, RESTIC_PASSWORD: 'bench-only-password', RESTIC_CACHE_DIR: join(root, 'restic-cache') }
  execFileSync('restic', ['init', '--repo', repo], { env, stdio: 'ignore' })
  const t0 = performance.now()
  execFileSync('restic', ['backup', '--repo', repo, '--quiet', corpus], { env, stdio: ['ignore', 'ignore', 'inherit'] })
  return (performance.now() - t0) / 1000
}

try {
  const resticVersion = ensureRestic(log)
  const corpus = join(root, 'corpus')
  const bytes = makeCorpus(corpus)
  // The fresh corpus is written back to disk first: neither tool's run should pay for that.
  execFileSync('sync')
  const mb = bytes / MIB
  log('running quloud ingest')
  const q = runQuloud(corpus)
  log(`quloud: ${q.seconds.toFixed(2)} s`)
  log('running restic backup')
  const resticSeconds = runRestic(corpus)
  log(`restic: ${resticSeconds.toFixed(2)} s (${resticVersion})`)
  const quloudMbS = mb / q.seconds
  const resticMbS = mb / resticSeconds
  console.log(JSON.stringify({
    quloud_mb_s: Number(quloudMbS.toFixed(1)),
    restic_mb_s: Number(resticMbS.toFixed(1)),
    ratio: Number((quloudMbS / resticMbS).toFixed(2)),
    peak_rss_mb: Number(q.peakRssMb.toFixed(1)),
    corpus_mb: Number(mb.toFixed(0)),
    quloud_s: Number(q.seconds.toFixed(2)),
    restic_s: Number(resticSeconds.toFixed(2)),
    restic_version: resticVersion,
    quloud_stats: q.stats,
  }))
} finally {
  rmSync(root, { recursive: true, force: true })
}
