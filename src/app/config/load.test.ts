import test from 'ava'
import { resolveConfig } from './load.js'
import { migrateConfig } from './migrate.js'
import { DEFAULTS } from './defaults.js'
import { BackupError } from '../../core/errors.js'

test('defaults alone: loopback only, ./quloud-data, SSDP off, frozen', (t) => {
  const c = resolveConfig({})
  t.deepEqual(c.webListen, { host: '127.0.0.1', port: 30480 })
  t.deepEqual(c.peerListen, { host: '127.0.0.1', port: 30481 })
  t.is(c.dataDir, './quloud-data')
  t.false(c.ssdp)
  t.true(Object.isFrozen(c) && Object.isFrozen(c.webListen))
  t.is(DEFAULTS.webListen.port, 30480)
})

test('precedence: defaults < file < env < flags; env never overrides a given flag', (t) => {
  const file = JSON.stringify({ version: 1, webListen: '127.0.0.1:1001', peerListen: '127.0.0.1:2001', ssdp: true })
  const env = { QULOUD_WEB_LISTEN: '127.0.0.1:1002', QULOUD_SSDP: 'false', QULOUD_PEERS: 'https://a.example:1, https://b.example:2' }
  const c = resolveConfig({ fileText: file, env, flags: { webListen: '0.0.0.0:1003' } })
  t.deepEqual(c.webListen, { host: '0.0.0.0', port: 1003 })
  t.deepEqual(c.peerListen, { host: '127.0.0.1', port: 2001 })
  t.false(c.ssdp)
  t.deepEqual(c.peers, ['https://a.example:1', 'https://b.example:2'])
  t.deepEqual(resolveConfig({ fileText: file, env }).webListen, { host: '127.0.0.1', port: 1002 })
  t.deepEqual(resolveConfig({ flags: { webListen: '[::1]:8080' } }).webListen, { host: '::1', port: 8080 })
})

test('bad settings are CONFIG_INVALID naming the setting', (t) => {
  const bad: Array<Parameters<typeof resolveConfig>[0]> = [
    { flags: { webListen: 'localhost' } },
    { flags: { webListen: '127.0.0.1:70000' } },
    { flags: { peers: ['http://insecure.example'] } },
    { flags: { peers: ['not a url'] } },
    { env: { QULOUD_SSDP: 'maybe' } },
    { flags: { logLevel: 'loud' } },
    { flags: { webListen: '127.0.0.1:5000', peerListen: '127.0.0.1:5000' } },
    { fileText: '{ nope' },
    { fileText: '[]' },
    { fileText: JSON.stringify({ version: 1, surprise: true }) },
    { fileText: JSON.stringify({ version: 99 }) },
    { fileText: JSON.stringify({ webListen: '127.0.0.1:1' }) },
    { env: { QULOUD_AUDIT_SCHEDULE: 'every night' } },
    { env: { QULOUD_AUDIT_DEADLINE_SECONDS: '0' } },
    { env: { QULOUD_LEASE_DAYS: '0' } },
    { env: { QULOUD_LEASE_DAYS: '1.5' } },
    { env: { QULOUD_PEER_EXCHANGE_SECONDS: '-1' } },
    { env: { QULOUD_ALERT_SMTP_URL: 'smtp://mail.example:587' } },
    { env: { QULOUD_ALERT_SMTP_URL: 'http://mail.example', QULOUD_ALERT_EMAIL_TO: 'me@example.org' } },
    { env: { QULOUD_ALERT_EMAIL_TO: 'not an address' } },
    { env: { QULOUD_ALERT_WEBHOOK: 'ftp://hooks.example/x' } },
  ]
  for (const input of bad) t.throws(() => resolveConfig(input), { instanceOf: BackupError, code: 'CONFIG_INVALID' }, JSON.stringify(input))
  const err = t.throws(() => resolveConfig({ flags: { webListen: 'localhost' } }))
  t.regex(err?.message ?? '', /webListen/)
  t.regex(t.throws(() => resolveConfig({ env: { QULOUD_LEASE_DAYS: '0' } }))?.message ?? '', /leaseDays/)
  // Secrets in URLs are never echoed back.
  t.false((t.throws(() => resolveConfig({ env: { QULOUD_ALERT_SMTP_URL: 'smtp://u:hunter22@mail.example', QULOUD_ALERT_EMAIL_TO: 'x' } }))?.message ?? '').includes('hunter22'))
  t.like(resolveConfig({ env: { QULOUD_ALERT_SMTP_URL: 'smtps://u:p@mail.example:465', QULOUD_ALERT_EMAIL_TO: 'me@example.org' } }), { alertSmtpUrl: 'smtps://u:p@mail.example:465', alertEmailTo: 'me@example.org', alertEmailFrom: null })
})

test('audit, lease and peer-exchange settings: defaults and QULOUD_* twins', (t) => {
  t.like(resolveConfig({}), { auditSchedule: '30 4 * * *', auditDeadlineSeconds: 30, leaseDays: 90, peerExchangeSeconds: 600 })
  t.like(resolveConfig({ env: { QULOUD_AUDIT_SCHEDULE: '*/5 * * * *', QULOUD_AUDIT_DEADLINE_SECONDS: '3', QULOUD_LEASE_DAYS: '30', QULOUD_PEER_EXCHANGE_SECONDS: '1' } }), { auditSchedule: '*/5 * * * *', auditDeadlineSeconds: 3, leaseDays: 30, peerExchangeSeconds: 1 })
})

test('migrateConfig applies steps in order and refuses gaps', (t) => {
  const steps = [{ to: 2, up: (c: Record<string, unknown>) => ({ ...c, added: true }) }]
  t.deepEqual(migrateConfig({ version: 1, x: 1 }, steps, 2), { version: 2, x: 1, added: true })
  t.throws(() => migrateConfig({ version: 1 }, [], 2), { instanceOf: BackupError, code: 'CONFIG_INVALID' })
})
