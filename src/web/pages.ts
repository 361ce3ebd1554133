import express, { type NextFunction, type Request, type Response } from 'express'
import { BackupError, inputInvalid, rateLimited } from '../core/errors.js'
import type { Logger } from '../core/ports/logger.js'
import type { NodeStatus } from '../app/node-status.js'
import type { OwnerService } from '../app/owner/owner-service.js'
import type { NodeControl } from '../app/node-control.js'
import type { AdminAuth } from '../app/admin/admin-auth.js'
import type { LoginLimiter, SessionStore } from '../app/admin/sessions.js'
import type { KnownPeer } from '../app/discovery/peer-directory.js'
import type { EditableSettings } from '../app/config/config-file.js'
import { toHex } from '../shared/bytes.js'
import { requireAdmin, requireCsrf, sessionOf, sessions as sessionMiddleware, setSessionCookie } from './session-auth.js'
import { HTTP_STATUS } from './http-status.js'

/** A QR code as SVG; qrcode is loaded when a page first shows one, not as the node starts. */
async function qrString(text: string, opts: { type: 'svg'; errorCorrectionLevel: 'M'; margin: number }): Promise<string> {
  return (await import('qrcode')).default.toString(text, opts)
}

/** What the settings screen shows (and what a restart would change). */
export interface SettingsView {
  webListen: string
  peerListen: string
  peerUrl: string
  ssdp: boolean
  bootstrapPeers: string[]
  shareRoots: string[]
  auditSchedule: string
  leaseDays: number
  storageCapacityBytes: number
  uploadLimitBytesPerSec: number
  /** Only the webhook's origin: its path may hold a token. */
  alertWebhook: string | null
  /** Who gets alert emails (the SMTP server's credentials are never shown). */
  alertEmailTo: string | null
}

export interface PagesDeps {
  status: () => Promise<NodeStatus>
  owner: () => OwnerService
  control: NodeControl
  admin: AdminAuth
  sessions: SessionStore
  limiter: LoginLimiter
  discovered: () => KnownPeer[]
  settings: () => SettingsView
  /** Bytes this node keeps for others, and what it offers. */
  storageUsage: () => { usedBytes: number; capacityBytes: number }
  /** The owners whose packs this node keeps, what each uses and its quota. */
  storageSenders: () => Array<{ id: string; usedBytes: number; quotaBytes: number; ownQuota: boolean }>
  /** Gives one of them its own quota (null: the node's default). */
  setStorageQuota: (idHex: string, bytes: number | null) => void
  /** Writes changed settings to config.json (they apply at the next start). */
  saveSettings: (changes: EditableSettings) => Promise<void>
  log: Logger
}

/** How every screen writes times and sizes. */
export const format = {
  when: (ms: number | null | undefined, none = 'never') => (ms ? `${new Date(ms).toISOString().replace('T', ' ').slice(0, 16)} UTC` : none),
  size: (b: number | undefined) => (b === undefined ? '' : b >= 1e9 ? `${(b / 1e9).toFixed(2)} GB` : b >= 1e6 ? `${(b / 1e6).toFixed(1)} MB` : b >= 1e3 ? `${(b / 1e3).toFixed(1)} kB` : `${b} B`),
}

type Handler = (req: Request, res: Response) => Promise<void> | void
const route = (fn: Handler) => (req: Request, res: Response, next: NextFunction) => {
  Promise.resolve()
    .then(() => fn(req, res))
    .catch(next)
}

const field = (req: Request, name: string): string => {
  const v = (req.body as Record<string, unknown> | undefined)?.[name]
  return typeof v === 'string' ? v : ''
}

/** A message for the next page of this session, shown once. */
function flash(res: Response, kind: 'ok' | 'error', text: string): void {
  ;(sessionOf(res) as { flash?: { kind: string; text: string } }).flash = { kind, text }
}

/**
 * The settings page (DESIGN §10): the first-run wizard, login, and the dashboard, shares, peers,
 * snapshots, keys and settings screens, as server-rendered EJS (every value escaped) with forms
 * that post back and redirect. Every form carries the session's CSRF token; every screen but
 * the wizard and the login needs the admin's session.
 */
export function createPages(deps: PagesDeps): express.Router {
  const r = express.Router()
  r.use(sessionMiddleware(deps.sessions))
  r.use(express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 2000 }))
  r.use(requireCsrf)

  const render = async (req: Request, res: Response, view: string, data: Record<string, unknown> = {}, status = 200) => {
    const s = sessionOf(res) as ReturnType<typeof sessionOf> & { flash?: { kind: string; text: string } }
    const message = s.flash ?? null
    delete s.flash
    res.status(status).render(view, { csrf: s.csrf, admin: s.admin, path: req.path, message, node: await deps.status(), ...format, ...data })
  }
  /** A refused form comes back to its page with the reason; the error never reaches the logs with the form's values. */
  const back = (to: string, fn: Handler): Handler => async (req, res) => {
    try {
      await fn(req, res)
    } catch (err) {
      if (!(err instanceof BackupError)) throw err
      flash(res, 'error', err.message)
      res.redirect(303, to)
    }
  }

  // ── first run, login, unlock ──────────────────────────────────────────────────────────────
  r.get('/setup', route(async (req, res) => {
    if (!(await deps.control.needsSetup())) return res.redirect(303, sessionOf(res).pendingRecoveryKey ? '/setup/recovery-key' : '/')
    const adminNeeded = !(await deps.admin.isSet())
    if (!adminNeeded && !sessionOf(res).admin) return res.redirect(303, '/login')
    await render(req, res, 'setup', { adminNeeded })
  }))
  r.post('/setup', route(back('/setup', async (req, res) => {
    const adminNeeded = !(await deps.admin.isSet())
    if (!adminNeeded && !sessionOf(res).admin) throw new BackupError('UNAUTHORIZED', 'log in with the admin password first')
    if (adminNeeded && field(req, 'adminPassword') !== field(req, 'adminPassword2')) throw inputInvalid('the two admin passwords differ')
    if (field(req, 'passphrase') !== field(req, 'passphrase2')) throw inputInvalid('the two key passphrases differ')
    const recoveryKey = await deps.control.initialize({ ...(adminNeeded ? { adminPassword: field(req, 'adminPassword') } : {}), passphrase: field(req, 'passphrase') })
    const s = newSession(res, true)
    s.pendingRecoveryKey = recoveryKey
    res.redirect(303, '/setup/recovery-key')
  })))
  r.get('/setup/recovery-key', route(async (req, res) => {
    const key = sessionOf(res).pendingRecoveryKey
    if (!key) return res.redirect(303, '/')
    res.set('Cache-Control', 'no-store')
    await render(req, res, 'recovery-key', { recoveryKey: key, qr: await qrString(key, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }) })
  }))
  r.post('/setup/done', route(back('/setup/recovery-key', async (req, res) => {
    if (field(req, 'written') !== 'yes') throw inputInvalid('tick "I have written it down" once the recovery key is on paper')
    delete sessionOf(res).pendingRecoveryKey
    flash(res, 'ok', 'Quloud is set up. Add a folder to protect and a peer to keep its copies.')
    res.redirect(303, '/')
  })))

  r.get('/login', route(async (req, res) => {
    if (await deps.control.needsSetup() && !(await deps.admin.isSet())) return res.redirect(303, '/setup')
    await render(req, res, 'login')
  }))
  r.post('/login', route(async (req, res) => {
    const who = req.socket.remoteAddress ?? 'unknown'
    const wait = deps.limiter.retryAfterMs(who)
    if (wait > 0) {
      res.set('Retry-After', String(Math.ceil(wait / 1000)))
      flash(res, 'error', `Too many wrong passwords: try again in ${Math.ceil(wait / 60_000)} minute(s).`)
      return void (await render(req, res, 'login', {}, HTTP_STATUS[rateLimited().code]))
    }
    if (!(await deps.admin.verify(field(req, 'password')))) {
      deps.limiter.failed(who)
      flash(res, 'error', 'Wrong password.')
      return void (await render(req, res, 'login', {}, 401))
    }
    deps.limiter.succeeded(who)
    newSession(res, true)
    res.redirect(303, (await deps.control.needsSetup()) ? '/setup' : '/')
  }))
  r.post('/logout', (_req, res) => {
    deps.sessions.destroy(sessionOf(res).id)
    setSessionCookie(res, null)
    res.redirect(303, '/login')
  })

  // Everything below: the admin only (unknown paths never reach the guard, so they stay 404).
  const gate = (_req: Request, res: Response, next: NextFunction) => {
    // A node without keys goes to the wizard first; a recovery key not yet confirmed comes back.
    void (async () => {
      if (sessionOf(res).pendingRecoveryKey) return res.redirect(303, '/setup/recovery-key')
      if (await deps.control.needsSetup()) return res.redirect(303, '/setup')
      res.locals.nav = true
      next()
    })().catch(next)
  }
  const guard = [requireAdmin, gate]

  r.post('/unlock', guard, route(back('/', async (req, res) => {
    await deps.control.unlock(field(req, 'passphrase'))
    flash(res, 'ok', 'Unlocked: backups run again.')
    res.redirect(303, '/')
  })))

  r.get('/', guard, route(async (req, res) => {
    const owner = deps.owner()
    const shares = owner.listShares()
    const peers = owner.peers()
    await render(req, res, 'dashboard', {
      shares,
      next: Object.fromEntries(shares.map((s) => [s.name, owner.nextBackupMs(s.name)])),
      jobs: owner.jobs.list().slice(-10).reverse(),
      peers: peers.length,
      discovered: deps.discovered().length,
      usedOnPeersBytes: owner.bytesOnPeers(),
      usage: deps.storageUsage(),
      lastAudit: owner.lastAudit,
      proofSetup: deps.control.proofSetup,
      locked: owner.locked,
    })
  }))

  r.get('/shares', guard, route(async (req, res) => {
    await render(req, res, 'shares', { shares: deps.owner().listShares(), roots: deps.settings().shareRoots })
  }))
  r.post('/shares', guard, route(back('/shares', async (req, res) => {
    const mode = field(req, 'mode')
    const copies = Number(field(req, 'copies') || '3')
    if (!Number.isInteger(copies)) throw inputInvalid('copies must be a whole number')
    if (!['manual', 'watch', 'schedule'].includes(mode)) throw inputInvalid('choose when to back up')
    const s = await deps.owner().addShare({ name: field(req, 'name').trim(), path: field(req, 'path').trim(), copies, schedule: mode === 'schedule' ? field(req, 'schedule').trim() : null, watch: mode === 'watch' })
    flash(res, 'ok', `Share "${s.name}" added.`)
    res.redirect(303, '/shares')
  })))
  r.post('/shares/:name/backup', guard, route(back('/', async (req, res) => {
    deps.owner().backup(String(req.params.name))
    flash(res, 'ok', `Backup of "${req.params.name}" started.`)
    res.redirect(303, '/')
  })))
  r.post('/shares/:name/remove', guard, route(back('/shares', async (req, res) => {
    await deps.owner().removeShare(String(req.params.name))
    flash(res, 'ok', `Share "${req.params.name}" removed from this node; its copies on peers stay.`)
    res.redirect(303, '/shares')
  })))

  r.get('/peers', guard, route(async (req, res) => {
    const owner = deps.owner()
    const copies = owner.copiesByPeer()
    const peers = owner.peers().map((p) => ({ id: toHex(p.nodeId), url: p.url, state: p.state, copies: copies.get(toHex(p.nodeId)) ?? 0, audit: p.audit }))
    const known = new Set(peers.map((p) => p.id))
    const discovered = deps.discovered().filter((d) => !known.has(toHex(d.announcement.nodeId))).map((d) => ({ id: toHex(d.announcement.nodeId), url: d.url, source: d.source, capacityBytes: d.announcement.capacityBytes, verified: d.verifiedAtMs !== null }))
    await render(req, res, 'peers', { peers, discovered, senders: deps.storageSenders() })
  }))
  r.post('/storage/:id/quota', guard, route(back('/peers', async (req, res) => {
    const id = String(req.params.id)
    if (!/^[0-9a-f]{64}$/.test(id)) throw inputInvalid('no such owner')
    const v = field(req, 'quotaGB').trim()
    const gb = v === '' ? null : Number(v)
    if (gb !== null && (!Number.isFinite(gb) || gb < 0)) throw inputInvalid('a quota is a number of GB, 0 or more (empty: the default)')
    deps.setStorageQuota(id, gb === null ? null : Math.round(gb * 1e9))
    flash(res, 'ok', gb === null ? 'That owner is back to the default quota.' : `That owner may now keep ${gb} GB here.`)
    res.redirect(303, '/peers')
  })))
  r.post('/peers', guard, route(back('/peers', async (req, res) => {
    const p = await deps.owner().addPeer(field(req, 'url').trim())
    flash(res, 'ok', `Peer ${toHex(p.nodeId).slice(0, 16)} added; its certificate is pinned.`)
    res.redirect(303, '/peers')
  })))
  r.post('/peers/:id/state', guard, route(back('/peers', async (req, res) => {
    const state = field(req, 'state')
    if (state !== 'blocked' && state !== 'active') throw inputInvalid('a peer is trusted or blocked')
    deps.owner().setPeerBlocked(String(req.params.id), state === 'blocked')
    flash(res, 'ok', state === 'blocked' ? 'Peer blocked: it gets no new packs and is not audited.' : 'Peer trusted again.')
    res.redirect(303, '/peers')
  })))
  r.post('/audit', guard, route(back('/', async (_req, res) => {
    deps.owner().audit()
    flash(res, 'ok', 'Audit round started.')
    res.redirect(303, '/')
  })))

  r.get('/snapshots', guard, route(async (req, res) => {
    const owner = deps.owner()
    const shares = owner.listShares()
    const name = typeof req.query.share === 'string' ? req.query.share : shares[0]?.name
    const data: Record<string, unknown> = { shares, share: name ?? null, snapshots: [], listing: null, error: null }
    if (name) {
      try {
        data.snapshots = await owner.snapshots(name)
        const seq = typeof req.query.seq === 'string' ? req.query.seq : 'latest'
        if ((data.snapshots as unknown[]).length > 0) data.listing = await owner.browse(name, seq, typeof req.query.path === 'string' ? req.query.path : '')
      } catch (err) {
        if (!(err instanceof BackupError)) throw err
        data.error = err.message
      }
    }
    await render(req, res, 'snapshots', data)
  }))
  r.post('/restore', guard, route(back('/snapshots', async (req, res) => {
    const raw = (req.body as Record<string, unknown>).paths
    const paths = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).filter((p): p is string => typeof p === 'string')
    if (paths.length === 0) throw inputInvalid('tick the files or folders to restore')
    const job = deps.owner().restore(field(req, 'share'), field(req, 'seq') || 'latest', paths, field(req, 'to').trim())
    flash(res, 'ok', `Restore started (job ${job.id}).`)
    res.redirect(303, '/')
  })))

  r.get('/keys', guard, route(async (req, res) => {
    await render(req, res, 'keys', { shares: deps.owner().listShares(), exported: null })
  }))
  r.post('/keys/export', guard, route(back('/keys', async (req, res) => {
    const name = field(req, 'share')
    const text = deps.owner().exportKey(name)
    res.set('Cache-Control', 'no-store')
    await render(req, res, 'keys', { shares: deps.owner().listShares(), exported: { name, text, qr: await qrString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }) } })
  })))
  r.post('/keys/import', guard, route(back('/keys', async (req, res) => {
    const s = await deps.owner().importKey(field(req, 'text'))
    flash(res, 'ok', `Share "${s.name}" imported: browse and restore it under Snapshots.`)
    res.redirect(303, '/snapshots?share=' + encodeURIComponent(s.name))
  })))

  r.get('/settings', guard, route(async (req, res) => {
    await render(req, res, 'settings', { settings: deps.settings() })
  }))
  r.post('/settings', guard, route(back('/settings', async (req, res) => {
    const number = (name: string, scale: number, what: string) => {
      const v = field(req, name).trim()
      const n = Number(v === '' ? '0' : v)
      if (!Number.isFinite(n) || n < 0) throw inputInvalid(`${what} must be a number, 0 or more`)
      return Math.round(n * scale)
    }
    const changes: EditableSettings = {
      ssdp: field(req, 'ssdp') === 'on',
      uploadLimitBytesPerSec: number('uploadLimitMBps', 1e6, 'the upload limit'),
      storageCapacityBytes: number('capacityGB', 1e9, 'the space offered'),
      auditSchedule: field(req, 'auditSchedule').trim(),
      shareRoots: field(req, 'shareRoots').split(',').map((s) => s.trim()).filter(Boolean),
    }
    const hook = field(req, 'alertWebhook').trim()
    if (field(req, 'alertWebhookRemove') === 'on') changes.alertWebhook = null
    else if (hook !== '') changes.alertWebhook = hook
    await deps.saveSettings(changes)
    flash(res, 'ok', 'Saved to config.json. Restart Quloud (or its NAS app) to apply.')
    res.redirect(303, '/settings')
  })))

  /** Live updates for the page (Server-Sent Events): jobs and share health once a second. */
  r.get('/events', guard, (req: Request, res: Response) => {
    res.set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' })
    res.flushHeaders()
    const send = () => {
      const owner = deps.owner()
      const data = { jobs: owner.jobs.list().slice(-10), shares: owner.listShares().map((s) => ({ name: s.name, healthy: s.healthy, degraded: s.degraded, lost: s.lost, packs: s.packs, lastBackupMs: s.lastBackupMs, lastResult: s.lastResult, pending: s.pending })), proofSetup: deps.control.proofSetup }
      res.write(`data: ${JSON.stringify(data)}\n\n`)
    }
    send()
    const timer = setInterval(send, 1000)
    req.on('close', () => clearInterval(timer))
  })

  return r

  function newSession(res: Response, admin: boolean) {
    deps.sessions.destroy(sessionOf(res).id)
    const s = deps.sessions.create(admin)
    res.locals.session = s
    setSessionCookie(res, s)
    return s
  }
}
