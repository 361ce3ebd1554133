import { BackupError } from '../core/errors.js'
import { EXIT_BUG, EXIT_CODES } from './exit-codes.js'

/**
 * The one place where failures leave the CLI: a coded error prints its message and exits with its
 * code from exit-codes.ts; anything else is a bug and prints a stack trace with exit code 1.
 */
export function exitCodeFor(err: unknown): number {
  return err instanceof BackupError ? EXIT_CODES[err.code] : EXIT_BUG
}

export function reportError(err: unknown, json: boolean): number {
  const code = exitCodeFor(err)
  if (err instanceof BackupError) {
    if (json) process.stdout.write(JSON.stringify({ error: { code: err.code, message: err.message } }) + '\n')
    else process.stderr.write(`quloud: ${err.message}\n`)
  } else {
    process.stderr.write(`quloud: unexpected failure (please report it):\n${err instanceof Error ? err.stack : String(err)}\n`)
  }
  return code
}
