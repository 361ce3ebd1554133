import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { BackupError, ERROR_CODES, copiesMissing, inputInvalid, ioFailed, type ErrorCode } from '../core/errors.js'
import { ApiClient } from './api-client.js'
import { followJob, type JobLike } from './progress.js'

/** A QR code for a terminal; qrcode is loaded only by the command that prints one. */
async function qrString(text: string, opts: { type: 'utf8'; errorCorrectionLevel: 'M' }): Promise<string> {
  return (await import('qrcode')).default.toString(text, opts)
}

interface Common {
  data?: string
  json?: boolean
}

const out = (line: string): void => void process.stdout.write(`${line}\n`)
const printJson = (v: unknown) => out(JSON.stringify(v))
const mb = (n: unknown) => `${((typeof n === 'number' ? n : 0) / 1e6).toFixed(1)} MB`
const when = (ms: unknown) => (typeof ms === 'number' ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : 'never')

function jobFailed(job: JobLike): BackupError {
  const e = job.error ?? { code: 'PEER_REFUSED', message: 'the job failed' }
  const code = (ERROR_CODES as readonly string[]).includes(e.code) ? (e.code as ErrorCode) : 'PEER_REFUSED'
  return new BackupError(code, e.message.replace(/^[A-Z_]+: /, ''))
}

export async function shareAdd(name: string, path: string, o: Common & { copies?: string; schedule?: string; watch?: boolean }): Promise<void> {
  const api = await ApiClient.open(o.data)
  const copies = o.copies === undefined ? undefined : Number(o.copies)
  if (copies !== undefined && !Number.isInteger(copies)) throw inputInvalid('--copies takes a whole number')
  const s = await api.call('POST', '/shares', { name, path: resolve(path), ...(copies !== undefined ? { copies } : {}), schedule: o.schedule ?? null, watch: o.watch === true })
  if (o.json) return printJson(s)
  out(`Share "${s.name}" added: ${s.path}, ${s.copies} copies, ${s.watch ? 'backed up as it changes' : s.schedule ? `schedule "${s.schedule}"` : 'backed up when asked (quloud backup)'}.`)
}

export async function shareRemove(name: string, o: Common): Promise<void> {
  const api = await ApiClient.open(o.data)
  const r = await api.call('DELETE', `/shares/${encodeURIComponent(name)}`)
  if (o.json) return printJson(r)
  out(`Share "${name}" removed from this node (its copies on peers are kept).`)
}

export async function sharesList(o: Common): Promise<void> {
  const api = await ApiClient.open(o.data)
  const r = await api.call<{ shares: Array<Record<string, unknown>> }>('GET', '/shares')
  if (o.json) return printJson(r)
  if (r.shares.length === 0) return out('No shares yet: quloud share add NAME PATH')
  for (const s of r.shares) out(`${s.name}  ${s.path ?? '(imported)'}  ${s.copies} copies  snapshots ${s.snapshots}  last ${when(s.lastBackupMs)} ${s.lastResult ?? ''}`)
}

export async function peerAdd(url: string, o: Common): Promise<void> {
  const api = await ApiClient.open(o.data)
  const p = await api.call('POST', '/peers', { url })
  if (o.json) return printJson(p)
  out(`Peer ${String(p.nodeId).slice(0, 16)} at ${p.url} added; its certificate (sha256 ${String(p.certSha256).slice(0, 16)}…) is pinned.`)
}

export async function peersList(o: Common): Promise<void> {
  const api = await ApiClient.open(o.data)
  const r = await api.call<{ peers: Array<Record<string, unknown>> }>('GET', '/peers')
  if (o.json) return printJson(r)
  if (r.peers.length === 0) out('No peers yet: quloud peer add https://HOST:PORT')
  for (const p of r.peers) out(peerLine(p))
  const found = (r as { discovered?: Array<Record<string, unknown>> }).discovered ?? []
  if (found.length > 0) out(`Discovered (add one with quloud peer add URL):`)
  for (const d of found) out(`  ${String(d.nodeId).slice(0, 16)}  ${d.url}  via ${d.source}`)
}

const peerLine = (p: Record<string, unknown>) =>
  `${String(p.nodeId).slice(0, 16)}  ${p.url}  ${p.state}  ${p.copies} copies  audit score ${Number(p.score).toFixed(2)} (${p.auditsPassed} passed, ${p.auditsFailed} failed)  last audit ${when(p.lastAuditMs)}`

export async function audit(o: Common & { wait?: boolean }): Promise<void> {
  const api = await ApiClient.open(o.data)
  const job = await api.call<JobLike>('POST', '/audits')
  if (!o.wait) {
    if (o.json) return printJson(job)
    return out(`Audit round started (job ${job.id}); follow it with: quloud status`)
  }
  const done = await followJob(() => api.call<JobLike>('GET', `/jobs/${encodeURIComponent(job.id)}`), 'audit', { json: o.json === true })
  if (done.state === 'failed') throw jobFailed(done)
  const r = (done.result ?? {}) as { round?: { replicas: number; passed: number; failed: number; peers: Array<{ nodeId: string; failed: number; reason: string | null; state: string }> }; repairs?: Array<Record<string, number | string>>; missing?: number }
  if (o.json) printJson({ job: done.id, ...r })
  else {
    const round = r.round ?? { replicas: 0, passed: 0, failed: 0, peers: [] }
    out(`Audited ${round.replicas} copies on ${round.peers.length} peers: ${round.passed} passed, ${round.failed} failed.`)
    for (const p of round.peers.filter((x) => x.failed > 0)) out(`  peer ${p.nodeId.slice(0, 16)} (${p.state}): ${p.failed} failed, ${p.reason ?? ''}`)
    for (const x of r.repairs ?? []) out(`  repaired "${x.share}": ${x.short} packs short; ${x.fromSpool} from the spool, ${x.fromSource} from the source files, ${x.fetched} fetched from peers; ${x.stillShort} still short`)
  }
  if ((r.missing ?? 0) > 0) throw copiesMissing(`${r.missing} pack(s) still have fewer copies than asked after the repair (too few healthy peers?)`)
}

export async function backup(name: string, o: Common & { wait?: boolean }): Promise<void> {
  const api = await ApiClient.open(o.data)
  const job = await api.call<JobLike>('POST', `/shares/${encodeURIComponent(name)}/backups`)
  if (!o.wait) {
    if (o.json) return printJson(job)
    return out(`Backup of "${name}" queued (job ${job.id}); follow it with: quloud status`)
  }
  const done = await followJob(() => api.call<JobLike>('GET', `/jobs/${encodeURIComponent(job.id)}`), 'backup', { json: o.json === true })
  if (done.state === 'failed') throw jobFailed(done)
  const r = done.result ?? {}
  if (o.json) printJson({ job: done.id, ...r })
  else out(`Snapshot ${r.snapshot} of "${name}": ${r.result}. ${r.filesRead} files read, ${r.filesUnchanged} unchanged, ${r.filesSkipped} skipped, ${mb(r.bytesRead)} read, ${r.packsWritten} new packs.`)
  if (r.result === 'degraded') throw copiesMissing(`${r.shortPacks} pack(s) of "${name}" have fewer copies than asked (too few reachable peers); the node catches up by itself`)
}

export async function snapshots(name: string, o: Common): Promise<void> {
  const api = await ApiClient.open(o.data)
  const r = await api.call<{ snapshots: Array<Record<string, unknown>> }>('GET', `/shares/${encodeURIComponent(name)}/snapshots`)
  if (o.json) return printJson(r)
  if (r.snapshots.length === 0) return out(`"${name}" has no snapshots yet.`)
  for (const s of r.snapshots) out(`${String(s.seq).padStart(4)}  ${when(s.createdAtMs)}  ${s.fileCount} files  ${mb(s.totalBytes)}${(s.skipped as unknown[]).length ? `  (${(s.skipped as unknown[]).length} skipped)` : ''}`)
}

export async function restore(name: string, rest: string[], o: Common & { to?: string }): Promise<void> {
  if (!o.to) throw inputInvalid('restore needs --to DIR (the folder to restore into)')
  const [first, ...more] = rest
  const isSnap = first !== undefined && (first === 'latest' || /^\d+$/.test(first))
  const snapshot = isSnap ? first : 'latest'
  const paths = isSnap ? more : rest
  const api = await ApiClient.open(o.data)
  const job = await api.call<JobLike>('POST', `/shares/${encodeURIComponent(name)}/restores`, { snapshot, paths, to: resolve(o.to) })
  const done = await followJob(() => api.call<JobLike>('GET', `/jobs/${encodeURIComponent(job.id)}`), 'restore', { json: o.json === true })
  if (done.state === 'failed') throw jobFailed(done)
  const r = done.result ?? {}
  if (o.json) return printJson({ job: done.id, to: resolve(o.to), ...r })
  out(`Restored snapshot ${r.snapshot} of "${name}" into ${resolve(o.to)}: ${r.filesDone} files, ${mb(r.bytesDone)}, every chunk verified.`)
}

export async function status(o: Common): Promise<void> {
  const api = await ApiClient.open(o.data)
  const s = await api.call<Record<string, unknown> & { shares: Array<Record<string, unknown>>; peers: unknown[] }>('GET', '/status')
  if (o.json) return printJson(s)
  out(`Quloud ${s.version}, node ${String(s.nodeId).slice(0, 16)}, ${s.locked ? 'locked' : 'unlocked'}, ${s.peers.length} peers, ${s.discovered ?? 0} discovered`)
  for (const x of s.shares) {
    const health = x.imported ? 'imported (restore only)' : `copies: ${x.healthy} healthy, ${x.degraded} degraded, ${x.lost} lost (of ${x.packs} packs, ${x.copies} copies each)`
    out(`  ${x.name}: ${health}; last backup ${when(x.lastBackupMs)} ${x.lastResult ?? ''}${x.pending ? ' (backup pending)' : ''}; last audit ${when(x.lastAuditMs)}`)
  }
  for (const p of s.peers as Array<Record<string, unknown>>) out(`  peer ${peerLine(p)}`)
}

export async function keyExport(name: string, o: Common & { qr?: boolean }): Promise<void> {
  const api = await ApiClient.open(o.data)
  const { text } = await api.call<{ text: string }>('GET', `/shares/${encodeURIComponent(name)}/key`)
  if (o.json) return printJson({ text })
  process.stdout.write(text)
  if (o.qr) process.stdout.write(await qrString(text, { type: 'utf8', errorCorrectionLevel: 'M' }))
  process.stderr.write('Anyone with this text can read this share: hand it over in person or on paper.\n')
}

export async function keyImport(file: string, o: Common): Promise<void> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw ioFailed(`reading ${file}`, err)
  }
  const api = await ApiClient.open(o.data)
  const r = await api.call('POST', '/keys', { text })
  if (o.json) return printJson(r)
  out(`Share "${r.name}" imported with ${r.snapshots} snapshot(s): list it with quloud snapshots ${r.name}, restore it with quloud restore.`)
}
