import express from 'express'
import { fileURLToPath } from 'node:url'
import type { Logger } from '../core/ports/logger.js'
import type { NodeStatus } from '../app/node-status.js'
import { jsonErrors, notFound } from './json-errors.js'
import { createLocalApi, requireBearer, type LocalApiDeps } from './local-api.js'
import { createPages, type PagesDeps } from './pages.js'

export const UI_VIEWS_DIR = fileURLToPath(new URL('../../ui/views/', import.meta.url))
export const UI_STATIC_DIR = fileURLToPath(new URL('../../ui/static/', import.meta.url))

export interface WebDeps {
  status: () => Promise<NodeStatus>
  log: Logger
  /** The owner API (absent in tests of the page alone). */
  api?: LocalApiDeps
  /** The settings page (absent: a plain status page). */
  pages?: PagesDeps
  /** Prometheus metrics, served to holders of the API token. */
  metrics?: () => Promise<{ contentType: string; body: string }>
}

/**
 * The settings page and local JSON API. /healthz answers NAS health checks; /api/v1/status is
 * what the CLI and the page read. Errors leave as { error: { code, message } } with the status
 * from http-status.ts; anything that is not a BackupError is a bug and answers 500 without
 * details.
 */
export function createWebApp(deps: WebDeps): express.Express {
  const app = express()
  app.disable('x-powered-by')
  app.set('views', UI_VIEWS_DIR)
  app.set('view engine', 'ejs')
  app.use((_req, res, next) => {
    res.set({ 'X-Content-Type-Options': 'nosniff', 'X-Frame-Options': 'DENY', 'Referrer-Policy': 'no-referrer', 'Content-Security-Policy': "default-src 'self'" })
    next()
  })
  app.use('/static', express.static(UI_STATIC_DIR, { fallthrough: false, index: false }))

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' })
  })
  if (deps.api) app.use('/api/v1', createLocalApi(deps.api))
  if (deps.api && deps.metrics) {
    const metrics = deps.metrics
    app.get('/metrics', requireBearer(deps.api.token), async (_req, res, next) => {
      try {
        const m = await metrics()
        res.set('Content-Type', m.contentType).send(m.body)
      } catch (err) {
        next(err)
      }
    })
  }
  if (deps.pages) app.use(createPages(deps.pages))
  else {
    app.get('/', async (_req, res, next) => {
      try {
        res.render('status', { status: await deps.status() })
      } catch (err) {
        next(err)
      }
    })
  }
  app.use(notFound('no such page or API route'))
  app.use(jsonErrors(deps.log))
  return app
}
