import express, { type NextFunction, type Request, type Response } from 'express'
import { timingSafeEqual, createHash } from 'node:crypto'
import { csrfInvalid, inputInvalid, unauthorized } from '../core/errors.js'
import type { SessionStore } from '../app/admin/sessions.js'
import { cookies, csrfMatches, SESSION_COOKIE } from './session-auth.js'
import type { OwnerService } from '../app/owner/owner-service.js'
import type { NodeStatus } from '../app/node-status.js'
import type { KnownPeer } from '../app/discovery/peer-directory.js'
import { toHex } from '../shared/bytes.js'

export interface LocalApiDeps {
  status: () => Promise<NodeStatus>
  /** The owner engine now (it is replaced when the settings page sets up or unlocks the node). */
  owner: () => OwnerService
  /** Settings-page sessions: a logged-in browser may call the API with its CSRF token instead of the bearer token. */
  sessions?: SessionStore
  /** The API token from the data folder (api.json, mode 0600). */
  token: string
  /** Nodes heard of by SSDP and peer exchange (verified announcements). */
  discovered?: () => KnownPeer[]
}

const digest = (s: string) => createHash('sha256').update(s).digest()

/** Only the bearer token (for /metrics: scrapers have no session). */
export const requireBearer = (token: string) => requireToken(token)

/**
 * Bearer-token check in constant time (both sides hashed first, so lengths never leak); or, for
 * the settings page's own scripts, the admin's session cookie plus its CSRF token on every call
 * that changes something.
 */
function requireToken(token: string, sessions?: SessionStore) {
  const want = digest(token)
  return (req: Request, _res: Response, next: NextFunction) => {
    const bearer = req.get('authorization')
    if (bearer === undefined && sessions) {
      const s = sessions.get(cookies(req)[SESSION_COOKIE])
      if (!s?.admin) return next(unauthorized())
      if (req.method !== 'GET' && !csrfMatches(s, req.get('x-csrf-token'))) return next(csrfInvalid())
      return next()
    }
    const m = /^Bearer ([A-Za-z0-9_-]{16,128})$/.exec(bearer ?? '')
    if (!m || !timingSafeEqual(digest(m[1] as string), want)) return next(unauthorized())
    next()
  }
}

const wrap = (fn: (req: Request, res: Response) => Promise<unknown> | unknown) => async (req: Request, res: Response, next: NextFunction) => {
  try {
    const out = await fn(req, res)
    if (!res.headersSent) res.json(out)
  } catch (err) {
    next(err)
  }
}

/** The request's JSON object, with only the `allowed` fields (anything else is INPUT_INVALID). */
function body(req: Request, allowed: string[]): Record<string, unknown> {
  const b = req.body as unknown
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw inputInvalid('the request body must be a JSON object')
  for (const k of Object.keys(b)) if (!allowed.includes(k)) throw inputInvalid(`unknown field "${k.slice(0, 40)}"`)
  return b as Record<string, unknown>
}

/** A route that answers `status` (201 created, 202 accepted) with what `fn` returns. */
const answer = (status: number, fn: (req: Request) => Promise<unknown> | unknown) =>
  wrap(async (req, res) => {
    const out = await fn(req)
    res.status(status)
    return out
  })

/**
 * The node's local JSON API under /api/v1 (docs/API.md): what the CLI (and scripts) drive the
 * node with. Every route needs the bearer token from the data folder.
 */
export function createLocalApi(deps: LocalApiDeps): express.Router {
  const r = express.Router()
  // Every call reads the owner engine afresh: the settings page may have replaced it.
  const owner = deps.owner
  r.use(requireToken(deps.token, deps.sessions))
  r.use(express.json({ limit: '64kb', strict: true }))

  r.get('/status', wrap(async () => ({ ...(await deps.status()), shares: owner().listShares(), peers: peersView(owner()), discovered: (deps.discovered?.() ?? []).length, lastAudit: auditView(owner()) })))
  r.get('/shares', wrap(() => ({ shares: owner().listShares() })))
  r.post(
    '/shares',
    answer(201, async (req) => {
      const b = body(req, ['name', 'path', 'copies', 'schedule', 'watch'])
      const s = await owner().addShare({ name: b.name as string, path: b.path as string, ...(b.copies !== undefined ? { copies: b.copies as number } : {}), schedule: (b.schedule ?? null) as string | null, watch: b.watch === true })
      return { name: s.name, path: s.path, copies: s.copies, schedule: s.schedule, watch: s.watch }
    }),
  )
  r.delete('/shares/:name', wrap(async (req) => {
    await owner().removeShare(String(req.params.name))
    return { removed: req.params.name }
  }))
  r.get('/peers', wrap(() => ({ peers: peersView(owner()), discovered: discoveredView(deps) })))
  r.patch(
    '/peers/:nodeId',
    wrap((req) => {
      const b = body(req, ['state'])
      if (b.state !== 'blocked' && b.state !== 'active') throw inputInvalid('state must be "blocked" or "active"')
      const p = owner().setPeerBlocked(String(req.params.nodeId), b.state === 'blocked')
      return { nodeId: toHex(p.nodeId), state: p.state }
    }),
  )
  r.post('/audits', answer(202, () => owner().audit()))
  r.post(
    '/peers',
    answer(201, async (req) => {
      const p = await owner().addPeer(body(req, ['url']).url as string)
      return { nodeId: toHex(p.nodeId), url: p.url, certSha256: toHex(p.certFingerprint), state: p.state }
    }),
  )
  r.post('/shares/:name/backups', answer(202, (req) => owner().backup(String(req.params.name))))
  r.get('/jobs/:id', wrap((req) => owner().jobs.get(String(req.params.id))))
  r.get('/shares/:name/snapshots', wrap(async (req) => ({ snapshots: (await owner().snapshots(String(req.params.name))).map((s) => ({ seq: s.seq, createdAtMs: s.createdAtMs, fileCount: s.fileCount, dirCount: s.dirCount, totalBytes: s.totalBytes, skipped: s.skipped })) })))
  r.post(
    '/shares/:name/restores',
    answer(202, (req) => {
      const b = body(req, ['snapshot', 'paths', 'to'])
      return owner().restore(String(req.params.name), (b.snapshot ?? 'latest') as string, (b.paths ?? []) as string[], b.to as string)
    }),
  )
  r.get('/shares/:name/key', wrap((req) => ({ text: owner().exportKey(String(req.params.name)) })))
  r.post(
    '/keys',
    answer(201, async (req) => {
      const s = await owner().importKey(body(req, ['text']).text as string)
      return { name: s.name, snapshots: (await owner().snapshots(s.name)).length }
    }),
  )
  return r
}

function peersView(owner: OwnerService) {
  const copies = owner.copiesByPeer()
  return owner.peers().map((p) => ({
    nodeId: toHex(p.nodeId), url: p.url, certSha256: toHex(p.certFingerprint), state: p.state, firstSeenMs: p.firstSeenMs, lastSeenMs: p.lastSeenMs,
    copies: copies.get(toHex(p.nodeId)) ?? 0,
    score: p.audit.score, auditsPassed: p.audit.passed, auditsFailed: p.audit.failed, consecutiveFailures: p.audit.consecutiveFailures, lastAuditMs: p.audit.lastMs, lastAuditOkMs: p.audit.lastOkMs,
  }))
}

function discoveredView(deps: LocalApiDeps) {
  return (deps.discovered?.() ?? []).map((k) => ({ nodeId: toHex(k.announcement.nodeId), url: k.url, source: k.source, verifiedAtMs: k.verifiedAtMs, capacityBytes: k.announcement.capacityBytes, expiresAtMs: k.announcement.expiresAtMs }))
}

function auditView(owner: OwnerService) {
  const a = owner.lastAudit
  return a ? { startedAtMs: a.round.startedAtMs, finishedAtMs: a.round.finishedAtMs, replicas: a.round.replicas, passed: a.round.passed, failed: a.round.failed, missing: a.missing } : null
}
