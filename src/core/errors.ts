/**
 * The one error catalogue. Every failure the product reports carries one of these codes; the CLI
 * (cli/exit-codes.ts), the HTTP API (web/http-status.ts) and the wire map them in one place each,
 * as Record<ErrorCode, …>, so adding a code without deciding how it leaves the program fails to
 * compile. docs/errors.md documents every code (a test keeps them in step).
 */
export const ERROR_CODES = [
  'CHUNK_MISSING',
  'CHUNK_CORRUPT',
  'OBJECT_MISSING',
  'OBJECT_CORRUPT',
  'DECRYPT_FAILED',
  'RECOVERY_KEY_INVALID',
  'KEY_FILE_MISSING',
  'KEY_FILE_CORRUPT',
  'PASSPHRASE_WRONG',
  'ALREADY_INITIALIZED',
  'INPUT_INVALID',
  'FILE_CHANGED',
  'INDEX_CORRUPT',
  'IO_FAILED',
  'PROOF_REJECTED',
  'NONCE_INVALID',
  'PEER_UNREACHABLE',
  'PEER_REFUSED',
  'REPO_LOCKED',
  'CONFIG_INVALID',
  'CLOSED',
  'QUOTA_EXCEEDED',
  'OBJECT_CONFLICT',
  'OWNER_KEY_MISMATCH',
  'SIGNATURE_INVALID',
  'BODY_TOO_LARGE',
  'RATE_LIMITED',
  'POINTER_STALE',
  'NOT_FOUND',
  'PATH_UNSAFE',
  'COPIES_MISSING',
  'UNAUTHORIZED',
  'CSRF_INVALID',
] as const

export type ErrorCode = (typeof ERROR_CODES)[number]

export interface ErrorInfo {
  retryable?: boolean
  cause?: unknown
}

export class BackupError extends Error {
  override readonly name = 'BackupError'
  readonly retryable: boolean

  constructor(
    readonly code: ErrorCode,
    message: string,
    info: ErrorInfo = {},
  ) {
    super(`${code}: ${message}`, { cause: info.cause })
    this.retryable = info.retryable ?? false
  }
}

/** A broken internal assumption: a bug, never a condition to handle. */
export class InvariantError extends Error {
  override readonly name = 'InvariantError'
}

export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError(message)
}

export function isBackupError(err: unknown, code?: ErrorCode): err is BackupError {
  return err instanceof BackupError && (code === undefined || err.code === code)
}

/** Every catch that is not for a specific code calls this first: bugs are never swallowed. */
export function rethrowIfBug(err: unknown): void {
  if (
    err instanceof TypeError ||
    err instanceof RangeError ||
    err instanceof ReferenceError ||
    err instanceof SyntaxError ||
    err instanceof InvariantError
  ) {
    throw err
  }
}

// Factories: one per failure, lower-case messages that say what happened. Ids arrive already
// shortened (8 hex characters), never as key material.
export const chunkMissing = (shortId: string) =>
  new BackupError('CHUNK_MISSING', `chunk ${shortId} is not in the index`)
export const chunkCorrupt = (shortId: string, objectShortId: string, why: string) =>
  new BackupError('CHUNK_CORRUPT', `chunk ${shortId} in object ${objectShortId} is corrupt: ${why}`)
export const objectMissing = (shortId: string) =>
  new BackupError('OBJECT_MISSING', `object ${shortId} is not stored here`)
export const objectCorrupt = (shortId: string, why: string) =>
  new BackupError('OBJECT_CORRUPT', `object ${shortId} is corrupt: ${why}`)
export const decryptFailed = (what: string) =>
  new BackupError('DECRYPT_FAILED', `${what} failed authentication: wrong key or tampered bytes`)
export const recoveryKeyInvalid = (why: string) =>
  new BackupError('RECOVERY_KEY_INVALID', `recovery key is not valid: ${why}`)
export const keyFileMissing = (path: string) =>
  new BackupError('KEY_FILE_MISSING', `no key file at ${path}; run "quloud init" first`)
export const keyFileCorrupt = (why: string) =>
  new BackupError('KEY_FILE_CORRUPT', `key file is damaged (${why}); restore it from a copy or recover with the recovery key`)
export const passphraseWrong = () =>
  new BackupError('PASSPHRASE_WRONG', 'the passphrase does not open this key file')
export const alreadyInitialized = (path: string) =>
  new BackupError('ALREADY_INITIALIZED', `${path} already holds a key file; refusing to overwrite it`)
export const inputInvalid = (why: string) => new BackupError('INPUT_INVALID', why)
export const fileChanged = (path: string) =>
  new BackupError('FILE_CHANGED', `${path} changed while it was read; skipped in this backup, will be read again next time`, { retryable: true })
export const indexCorrupt = (why: string) => new BackupError('INDEX_CORRUPT', `index is inconsistent: ${why}`)
export const ioFailed = (what: string, cause: unknown) =>
  new BackupError('IO_FAILED', `${what} failed`, { cause, retryable: true })
export const proofRejected = (why: string) => new BackupError('PROOF_REJECTED', `ownership proof rejected: ${why}`)
export const nonceInvalid = () =>
  new BackupError('NONCE_INVALID', 'the challenge nonce is unknown, already used or expired; ask for a new one')
export const configInvalid = (why: string) => new BackupError('CONFIG_INVALID', why)
export const closed = (what: string) => new BackupError('CLOSED', `${what} is closed`)
export const bodyTooLarge = (limit: number) => new BackupError('BODY_TOO_LARGE', `the request body is larger than ${limit} bytes`)
export const rateLimited = () => new BackupError('RATE_LIMITED', 'too many requests from this address; slow down', { retryable: true })
export const pointerStale = (have: number, got: number) => new BackupError('POINTER_STALE', `this node has sequence ${have} of the pointer; ${got} is not newer`)
export const signatureInvalid = (why: string) => new BackupError('SIGNATURE_INVALID', why)
export const quotaExceeded = (why: string) => new BackupError('QUOTA_EXCEEDED', why)
export const objectConflict = (shortId: string) =>
  new BackupError('OBJECT_CONFLICT', `object ${shortId} is already stored with different contents or metadata`)
export const ownerKeyMismatch = (shortOwner: string, why = 'pinned another verification key here before') =>
  new BackupError('OWNER_KEY_MISMATCH', `owner ${shortOwner} ${why}`)
export const notFound = (what: string) => new BackupError('NOT_FOUND', `${what} does not exist`)
export const pathUnsafe = (path: string, why: string) => new BackupError('PATH_UNSAFE', `refusing ${JSON.stringify(path.slice(0, 200))}: ${why}; nothing was written there`)
export const copiesMissing = (why: string) => new BackupError('COPIES_MISSING', why, { retryable: true })
export const csrfInvalid = () => new BackupError('CSRF_INVALID', 'the form or request lacks this session\'s CSRF token: reload the page and try again')
export const unauthorized = () => new BackupError('UNAUTHORIZED', 'missing or wrong API token (see api.json in the data folder)')
export const repoLocked = () => new BackupError('REPO_LOCKED', 'the node is locked: start it with --passphrase-file (QULOUD_PASSPHRASE_FILE) to use the owner keys')
