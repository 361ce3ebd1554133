import type { ErrorCode } from '../core/errors.js'

/**
 * Process exit codes, documented in docs/errors.md. 0 success, 1 unexpected failure (a bug),
 * 2 usage. Every error code has its own meaning here; a new code does not compile until placed.
 */
export const EXIT_OK = 0
export const EXIT_BUG = 1
export const EXIT_USAGE = 2
/** `quloud conformance`: the node answered, but not every check passed. */
export const EXIT_CHECKS_FAILED = 40

export const EXIT_CODES: Record<ErrorCode, number> = {
  CONFIG_INVALID: 2,
  INPUT_INVALID: 2,
  RECOVERY_KEY_INVALID: 3,
  PASSPHRASE_WRONG: 4,
  KEY_FILE_MISSING: 5,
  KEY_FILE_CORRUPT: 6,
  ALREADY_INITIALIZED: 7,
  REPO_LOCKED: 8,
  INDEX_CORRUPT: 9,
  IO_FAILED: 10,
  FILE_CHANGED: 11,
  CHUNK_MISSING: 12,
  CHUNK_CORRUPT: 13,
  OBJECT_MISSING: 14,
  OBJECT_CORRUPT: 15,
  DECRYPT_FAILED: 16,
  PROOF_REJECTED: 17,
  PEER_UNREACHABLE: 18,
  PEER_REFUSED: 19,
  CLOSED: 20,
  NONCE_INVALID: 21,
  QUOTA_EXCEEDED: 22,
  OBJECT_CONFLICT: 23,
  OWNER_KEY_MISMATCH: 24,
  SIGNATURE_INVALID: 25,
  BODY_TOO_LARGE: 26,
  RATE_LIMITED: 27,
  POINTER_STALE: 28,
  NOT_FOUND: 29,
  PATH_UNSAFE: 30,
  COPIES_MISSING: 31,
  UNAUTHORIZED: 32,
  CSRF_INVALID: 33,
}
