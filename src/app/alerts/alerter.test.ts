import test from 'ava'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Alerter } from './alerter.js'
import { WebhookAlertSink } from '../../adapters/webhook/webhook-alert-sink.js'
import { JsonLogger } from '../../adapters/log/json-logger.js'

/** A real HTTP receiver on 127.0.0.1 that records what it is sent and answers `status`. */
async function receiver(t: import('ava').ExecutionContext, status = () => 200) {
  const got: Array<Record<string, unknown>> = []
  const server = createServer((req: IncomingMessage, res) => {
    let body = ''
    req.on('data', (d) => (body += d))
    req.on('end', () => {
      got.push({ ...JSON.parse(body), _contentType: req.headers['content-type'], _path: req.url })
      res.writeHead(status()).end()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  t.teardown(() => new Promise<void>((r) => server.close(() => r())))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/secret-token-123`, got }
}

const log = new JsonLogger({ level: 'error' })
const HOUR = 3600_000

test('alerts reach a webhook as JSON: a failed backup, lost copies, and an overdue share once per window', async (t) => {
  const r = await receiver(t)
  let now = 1_700_000_000_000
  const alerter = new Alerter({ sinks: [new WebhookAlertSink(r.url)], clock: { nowMs: () => now }, log, nodeId: 'ab'.repeat(32), backupWindowMs: 48 * HOUR })
  await alerter.notify({ kind: 'backup-failed', share: 'photos', code: 'IO_FAILED' })
  await alerter.notify({ kind: 'backup-failed', share: 'photos', code: 'IO_FAILED' }) // the node's retry: no second alert
  await alerter.notify({ kind: 'copies-lost', failedCopies: 3, missingPacks: 0, peers: ['https://10.0.0.2:30481'] })
  t.like(r.got[0], { event: 'backup-failed', share: 'photos', nodeId: 'ab'.repeat(32), atMs: now, _contentType: 'application/json', _path: '/hooks/secret-token-123' })
  t.regex(String(r.got[0]?.text), /^Quloud: the backup of "photos" failed \(IO_FAILED\)$/)
  t.like(r.got[1], { event: 'copies-lost', details: { failedCopies: 3, missingPacks: 0 } })
  t.is(r.got.length, 2)
  await alerter.notify({ kind: 'backup-ok', share: 'photos' })
  await alerter.notify({ kind: 'backup-failed', share: 'photos', code: 'IO_FAILED' })
  t.is(r.got.length, 3, 'after a success, a new failure alerts again')
  r.got.pop()

  const shares = (lastBackupMs: number | null) => [{ name: 'photos', imported: false, createdAtMs: now - 100 * HOUR, lastBackupMs }, { name: 'friend', imported: true, createdAtMs: 0, lastBackupMs: null }]
  await alerter.checkOverdue(shares(now - 10 * HOUR))
  t.is(r.got.length, 2)
  now += 40 * HOUR // 50 hours since the last backup
  await alerter.checkOverdue(shares(now - 50 * HOUR))
  await alerter.checkOverdue(shares(now - 50 * HOUR))
  t.is(r.got.length, 3, 'once per share until it backs up again')
  t.like(r.got[2], { event: 'backup-overdue', share: 'photos', details: { windowHours: 48 } })
  await alerter.checkOverdue(shares(now - HOUR))
  now += 60 * HOUR
  await alerter.checkOverdue(shares(now - 61 * HOUR))
  t.is(r.got.length, 4)
  for (const { _path, ...alert } of r.got) t.false(JSON.stringify(alert).includes('secret-token'), `the webhook address (${String(_path).length} chars) is never in an alert`)
})

test('a webhook that fails is tried twice, then the failure is logged without its address; nothing throws', async (t) => {
  let calls = 0
  const r = await receiver(t, () => (++calls === 1 ? 500 : 204))
  const lines: string[] = []
  const capture = new JsonLogger({ level: 'warn', write: (line) => void lines.push(line) })
  const alerter = new Alerter({ sinks: [new WebhookAlertSink(r.url)], clock: { nowMs: () => 1 }, log: capture, nodeId: '00', backupWindowMs: HOUR, retryDelayMs: 10 })
  await alerter.notify({ kind: 'backup-failed', share: 'x', code: 'IO_FAILED' })
  t.is(calls, 2)
  t.is(r.got.length, 2)
  const dead = new Alerter({ sinks: [new WebhookAlertSink('http://127.0.0.1:9/hooks/secret-token-123', 500)], clock: { nowMs: () => 1 }, log: capture, nodeId: '00', backupWindowMs: HOUR, retryDelayMs: 10 })
  await t.notThrowsAsync(dead.notify({ kind: 'backup-failed', share: 'x', code: 'IO_FAILED' }))
  t.true(lines.some((l) => l.includes('An alert could not be delivered')))
  t.false(lines.some((l) => l.includes('secret-token')))
})
