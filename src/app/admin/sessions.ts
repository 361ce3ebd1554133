import type { Clock } from '../../core/ports/clock.js'

export interface Session {
  id: string
  /** The CSRF token every form and state-changing API call of this session must carry. */
  csrf: string
  /** Logged in as the admin (false: a visitor who may only log in or run the first-run wizard). */
  admin: boolean
  expiresAtMs: number
  /** The recovery key, between the wizard's two steps only: shown once, then forgotten. */
  pendingRecoveryKey?: string
}

export const SESSION_IDLE_MS = 12 * 3600_000
export const MAX_SESSIONS = 1000

const token = (randomBytes: (n: number) => Uint8Array) => Buffer.from(randomBytes(32)).toString('base64url')

/**
 * Settings-page sessions, in memory (a restart logs everyone out): random ids for the cookie,
 * one CSRF token each, an idle timeout, at most 1000 (visitors first are dropped when full).
 * Logging in makes a new session id, so a visitor's id never becomes an admin's.
 */
export class SessionStore {
  readonly #sessions = new Map<string, Session>()

  constructor(private readonly deps: { clock: Clock; randomBytes: (n: number) => Uint8Array }) {}

  create(admin: boolean): Session {
    const now = this.deps.clock.nowMs()
    for (const [k, s] of this.#sessions) if (s.expiresAtMs <= now) this.#sessions.delete(k)
    while (this.#sessions.size >= MAX_SESSIONS) {
      const visitor = [...this.#sessions.values()].find((s) => !s.admin) ?? this.#sessions.values().next().value
      if (!visitor) break
      this.#sessions.delete(visitor.id)
    }
    const s: Session = { id: token(this.deps.randomBytes), csrf: token(this.deps.randomBytes), admin, expiresAtMs: now + SESSION_IDLE_MS }
    this.#sessions.set(s.id, s)
    return s
  }

  get(id: string | undefined): Session | null {
    if (!id) return null
    const s = this.#sessions.get(id)
    if (!s) return null
    const now = this.deps.clock.nowMs()
    if (s.expiresAtMs <= now) {
      this.#sessions.delete(id)
      return null
    }
    s.expiresAtMs = now + SESSION_IDLE_MS
    return s
  }

  destroy(id: string): void {
    this.#sessions.delete(id)
  }
}

/**
 * Login attempts per client address: after 5 wrong passwords within 15 minutes, further attempts
 * are refused until the oldest of them is 15 minutes old.
 */
export class LoginLimiter {
  readonly #failures = new Map<string, number[]>()

  constructor(private readonly clock: Clock, private readonly limit = 5, private readonly windowMs = 15 * 60_000) {}

  /** Milliseconds until this address may try again (0: now). */
  retryAfterMs(key: string): number {
    const now = this.clock.nowMs()
    const recent = (this.#failures.get(key) ?? []).filter((t) => t > now - this.windowMs)
    this.#failures.set(key, recent)
    return recent.length >= this.limit ? (recent[0] as number) + this.windowMs - now : 0
  }

  failed(key: string): void {
    const list = this.#failures.get(key) ?? []
    list.push(this.clock.nowMs())
    this.#failures.set(key, list.slice(-this.limit))
    if (this.#failures.size > 10_000) this.#failures.delete(this.#failures.keys().next().value as string)
  }

  succeeded(key: string): void {
    this.#failures.delete(key)
  }
}
