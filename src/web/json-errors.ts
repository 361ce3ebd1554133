import type { NextFunction, Request, Response } from 'express'
import { BackupError } from '../core/errors.js'
import type { Logger } from '../core/ports/logger.js'
import { HTTP_STATUS } from './http-status.js'

/** The last two handlers of every app: 404 for unknown routes, and errors as { error: { code, message } }. */
export function notFound(message: string) {
  return (_req: Request, res: Response) => {
    res.status(404).json({ error: { code: 'NOT_FOUND', message } })
  }
}

/**
 * A BackupError leaves with the status http-status.ts gives its code; anything else is a bug,
 * logged and answered 500 without details. A response already under way is cut off instead.
 */
export function jsonErrors(log: Logger) {
  return (err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) return void res.destroy()
    if (err instanceof BackupError) {
      res.status(HTTP_STATUS[err.code]).json({ error: { code: err.code, message: err.message } })
      return
    }
    log.error({ err }, 'Unexpected error in a request')
    res.status(500).json({ error: { code: 'INTERNAL', message: 'internal error' } })
  }
}
