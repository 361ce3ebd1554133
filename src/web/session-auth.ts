import type { NextFunction, Request, Response } from 'express'
import { timingSafeEqual, createHash } from 'node:crypto'
import { csrfInvalid, unauthorized } from '../core/errors.js'
import type { Session, SessionStore } from '../app/admin/sessions.js'

export const SESSION_COOKIE = 'quloud_session'

/** The cookies of a request (only what the settings page sets; malformed pairs are ignored). */
export function cookies(req: Request): Record<string, string> {
  const out: Record<string, string> = {}
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=')
    if (i < 1) continue
    const k = part.slice(0, i).trim()
    const v = part.slice(i + 1).trim()
    if (/^[A-Za-z0-9_-]{1,64}$/.test(k) && /^[A-Za-z0-9_-]{0,128}$/.test(v)) out[k] = v
  }
  return out
}

/** HttpOnly, SameSite=Strict, path-wide; Secure is not set because NAS pages are often plain http on the LAN. */
export function setSessionCookie(res: Response, s: Session | null): void {
  res.append('Set-Cookie', s ? `${SESSION_COOKIE}=${s.id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200` : `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`)
}

/** Every page visitor has a session (a visitor one until login): it carries the CSRF token of the login and setup forms too. */
export function sessions(store: SessionStore) {
  return (req: Request, res: Response, next: NextFunction) => {
    let s = store.get(cookies(req)[SESSION_COOKIE])
    if (!s) {
      s = store.create(false)
      setSessionCookie(res, s)
    }
    res.locals.session = s
    next()
  }
}

export const sessionOf = (res: Response): Session => res.locals.session as Session

const digest = (s: string) => createHash('sha256').update(s).digest()

/** Constant-time comparison of a presented token with the session's. */
export function csrfMatches(s: Session, presented: unknown): boolean {
  return typeof presented === 'string' && presented.length > 0 && presented.length <= 256 && timingSafeEqual(digest(presented), digest(s.csrf))
}

/** State-changing requests must carry the session's CSRF token (form field _csrf or header x-csrf-token). */
export function requireCsrf(req: Request, res: Response, next: NextFunction): void {
  if (req.method === 'GET' || req.method === 'HEAD') return next()
  const s = sessionOf(res)
  const presented = req.get('x-csrf-token') ?? (req.body as Record<string, unknown> | undefined)?._csrf
  if (!csrfMatches(s, presented)) return next(csrfInvalid())
  next()
}

/** Pages need a logged-in admin: others go to the login page (API calls get UNAUTHORIZED). */
export function requireAdmin(req: Request, res: Response, next: NextFunction): void {
  if (sessionOf(res).admin) return next()
  if (req.path.startsWith('/api/') || req.path === '/events' || req.method !== 'GET') return next(unauthorized())
  res.redirect(303, '/login')
}
