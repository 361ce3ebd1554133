import type { PeerAudit, PeerState } from '../ports/index-store.js'

/** Weight of the newest audit round in a peer's score (an exponential moving average). */
export const SCORE_WEIGHT = 0.25
/** Audit rounds failed in a row after which a peer receives no new packs. */
export const PEER_FAIL_LIMIT = 3

/** A peer's audit history after one more round, passed or failed. */
export function nextPeerAudit(prev: PeerAudit, passed: boolean, atMs: number): PeerAudit {
  const score = Math.round(((1 - SCORE_WEIGHT) * prev.score + SCORE_WEIGHT * (passed ? 1 : 0)) * 1e6) / 1e6
  return {
    passed: prev.passed + (passed ? 1 : 0),
    failed: prev.failed + (passed ? 0 : 1),
    consecutiveFailures: passed ? 0 : prev.consecutiveFailures + 1,
    lastMs: atMs,
    lastOkMs: passed ? atMs : prev.lastOkMs,
    score: Math.min(1, Math.max(0, score)),
  }
}

/**
 * An active peer that failed `failLimit` rounds in a row becomes failing (no new packs); a failing
 * peer that passes a round is active again. The owner's block always stays.
 */
export function peerStateAfterAudit(state: PeerState, audit: PeerAudit, failLimit = PEER_FAIL_LIMIT): PeerState {
  if (state === 'blocked') return state
  if (audit.consecutiveFailures >= failLimit) return 'failing'
  if (audit.consecutiveFailures === 0) return 'active'
  return state
}
