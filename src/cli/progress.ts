
export interface JobLike {
  id: string
  state: string
  progress: Record<string, number | string>
  result: Record<string, unknown> | null
  error: { code: string; message: string } | null
}

export type JobKind = 'backup' | 'restore' | 'audit'

const mb = (n: unknown) => (typeof n === 'number' ? (n / 1e6).toFixed(1) : '0.0')

/** One line of what a job is doing: files, bytes, packs, peers. */
export function describeProgress(kind: JobKind, p: Record<string, number | string>): string {
  if (kind === 'audit') return p.phase === 'repair' ? `repairing shares ${p.sharesDone ?? 0}/${p.sharesTotal ?? '?'}` : `auditing peers ${p.peersDone ?? 0}/${p.peersTotal ?? '?'}`
  if (kind === 'restore') return `files ${p.filesDone ?? 0}/${p.filesTotal ?? '?'}  ${mb(p.bytesDone)}/${mb(p.bytesTotal)} MB  packs ${p.packsDone ?? 0}/${p.packsTotal ?? '?'}`
  if (p.phase === 'uploading') return `uploading packs ${p.packsDone ?? 0}/${p.packsTotal ?? '?'}  ${mb(p.bytesSent)} MB sent  peers ${p.peers ?? 0}`
  return `reading files ${p.filesRead ?? 0} new/changed, ${p.filesUnchanged ?? 0} unchanged  ${mb(p.bytesRead)} MB  packs ${p.packsWritten ?? 0}`
}

function fraction(kind: JobKind, p: Record<string, number | string>): { value: number; total: number } {
  const n = (k: string) => (typeof p[k] === 'number' ? (p[k] as number) : 0)
  if (kind === 'audit') return p.phase === 'repair' ? { value: n('sharesDone'), total: Math.max(1, n('sharesTotal')) } : { value: n('peersDone'), total: Math.max(1, n('peersTotal')) }
  if (kind === 'restore') return { value: n('bytesDone'), total: Math.max(1, n('bytesTotal')) }
  if (p.phase === 'uploading') return { value: n('packsDone'), total: Math.max(1, n('packsTotal')) }
  return { value: n('filesRead') + n('filesUnchanged') + n('filesSkipped'), total: Math.max(1, n('filesSeen')) }
}

/**
 * Polls a job until it ends. On a terminal: a progress bar (cli-progress) with ETA; otherwise a
 * line every few seconds; with --json: nothing until the end.
 */
export async function followJob(poll: () => Promise<JobLike>, kind: JobKind, mode: { json: boolean }): Promise<JobLike> {
  const tty = !mode.json && process.stderr.isTTY === true
  // Loaded here, not with the CLI: `quloud start` (the same program) never draws a bar.
  const cliProgress = tty ? (await import('cli-progress')).default : null
  const bar = cliProgress ? new cliProgress.SingleBar({ stream: process.stderr, format: `${kind} {bar} {percentage}% | ETA {eta_formatted} | {detail}`, etaBuffer: 20, hideCursor: true }, cliProgress.Presets.shades_classic) : null
  let started = false
  let lastLine = 0
  for (;;) {
    const job = await poll()
    const f = fraction(kind, job.progress)
    const detail = describeProgress(kind, job.progress)
    if (bar) {
      if (!started) bar.start(f.total, f.value, { detail })
      started = true
      bar.setTotal(f.total)
      bar.update(f.value, { detail })
    } else if (!mode.json && Date.now() - lastLine > 3000) {
      process.stderr.write(`${kind}: ${detail}\n`)
      lastLine = Date.now()
    }
    if (job.state === 'done' || job.state === 'failed') {
      if (bar) {
        if (job.state === 'done') bar.update(f.total, { detail })
        bar.stop()
      }
      return job
    }
    await new Promise((r) => setTimeout(r, 250))
  }
}
