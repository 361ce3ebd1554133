import type { Clock } from '../ports/clock.js'
import { toHex } from '../../shared/bytes.js'
import { NONCE_BYTES } from './field-mapping.js'

export const DEFAULT_NONCE_TTL_MS = 120_000 // long enough to prove a batch on a slow NAS
export const DEFAULT_MAX_OPEN_NONCES = 10_000 // bounds memory under a flood of challenges

export interface NonceStoreOptions {
  ttlMs?: number
  maxOpen?: number
}

/**
 * Single-use, short-lived challenge nonces of a verifying node. Replay protection rests here:
 * Groth16 proofs are malleable (a re-randomised proof still verifies), so remembering proof bytes
 * would not stop a replay, but a spent nonce does.
 * - issue() returns NONCE_BYTES fresh random bytes.
 * - consume() is true exactly once per issued, unexpired nonce; false for unknown, used or
 *   expired ones. The oldest open nonces are dropped when more than maxOpen are open.
 */
export class NonceStore {
  readonly #open = new Map<string, number>()
  readonly #ttlMs: number
  readonly #maxOpen: number

  constructor(
    private readonly deps: { clock: Clock; randomBytes: (n: number) => Uint8Array },
    { ttlMs = DEFAULT_NONCE_TTL_MS, maxOpen = DEFAULT_MAX_OPEN_NONCES }: NonceStoreOptions = {},
  ) {
    this.#ttlMs = ttlMs
    this.#maxOpen = maxOpen
  }

  issue(): { nonce: Uint8Array; expiresAtMs: number } {
    this.#sweep()
    const nonce = this.deps.randomBytes(NONCE_BYTES)
    const expiresAtMs = this.deps.clock.nowMs() + this.#ttlMs
    this.#open.set(toHex(nonce), expiresAtMs)
    while (this.#open.size > this.#maxOpen) this.#open.delete(this.#open.keys().next().value as string)
    return { nonce, expiresAtMs }
  }

  consume(nonce: Uint8Array): boolean {
    const key = toHex(nonce)
    const expires = this.#open.get(key)
    this.#open.delete(key)
    return expires !== undefined && expires > this.deps.clock.nowMs()
  }

  get openCount(): number {
    return this.#open.size
  }

  #sweep(): void {
    const now = this.deps.clock.nowMs()
    // Map keeps insertion order, which is expiry order: stop at the first live nonce.
    for (const [key, expires] of this.#open) {
      if (expires > now) break
      this.#open.delete(key)
    }
  }
}
