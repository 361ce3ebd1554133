import test from 'ava'
import { readFile, writeFile, stat } from 'node:fs/promises'
import { AdminAuth, ADMIN_FILE } from './admin-auth.js'
import { LoginLimiter, SessionStore, MAX_SESSIONS, SESSION_IDLE_MS } from './sessions.js'
import { FsDataDir } from '../../adapters/fs/fs-data-dir.js'
import { Argon2PasswordKdf } from '../../adapters/argon2/argon2-password-kdf.js'
import { sodium, tempDir } from '../../../test/helpers/index.js'

test('the admin password is kept as an Argon2id hash (0600), verified in constant time, never stored', async (t) => {
  const dataDir = await FsDataDir.open(await tempDir(t))
  const admin = new AdminAuth({ sodium, kdf: new Argon2PasswordKdf(), dataDir })
  t.false(await admin.isSet())
  t.false(await admin.verify('anything at all'))
  await t.throwsAsync(admin.set('short'), { code: 'INPUT_INVALID' })
  t.false(await admin.isSet())
  await admin.set('correct horse battery')
  t.true(await admin.isSet())
  t.true(await admin.verify('correct horse battery'))
  t.false(await admin.verify('correct horse batterY'))
  t.false(await admin.verify(''))
  const file = dataDir.resolve(ADMIN_FILE)
  t.is((await stat(file)).mode & 0o777, 0o600)
  const text = await readFile(file, 'utf8')
  t.false(text.includes('correct horse'))
  t.like(JSON.parse(text), { format: 'quloud-admin', version: 1, params: { memoryKiB: 65536, iterations: 3, parallelism: 1 } })
  // A damaged file is a clear error, not a way in; weakened parameters count as damage.
  await writeFile(file, JSON.stringify({ ...JSON.parse(text), params: { memoryKiB: 8, iterations: 1, parallelism: 1 } }))
  await t.throwsAsync(admin.verify('correct horse battery'), { code: 'KEY_FILE_CORRUPT' })
  await writeFile(file, '{ nope')
  await t.throwsAsync(admin.verify('correct horse battery'), { code: 'KEY_FILE_CORRUPT' })
})

test('sessions: random ids and CSRF tokens, idle expiry, a cap that drops visitors first', (t) => {
  let now = 1000
  let n = 0
  const store = new SessionStore({ clock: { nowMs: () => now }, randomBytes: (k) => sodium.randomBytes(k) })
  const admin = store.create(true)
  const visitor = store.create(false)
  t.not(admin.id, visitor.id)
  t.not(admin.csrf, admin.id)
  t.regex(admin.id, /^[A-Za-z0-9_-]{43}$/)
  t.is(store.get(admin.id), admin)
  t.is(store.get('unknown'), null)
  t.is(store.get(undefined), null)
  now += SESSION_IDLE_MS - 1
  t.truthy(store.get(admin.id), 'use keeps a session alive')
  now += SESSION_IDLE_MS
  t.is(store.get(admin.id), null)
  const keep = store.create(true)
  for (n = 0; n < MAX_SESSIONS + 10; n++) store.create(false)
  t.truthy(store.get(keep.id), 'a flood of visitors does not log the admin out')
  store.destroy(keep.id)
  t.is(store.get(keep.id), null)
})

test('login limiter: 5 wrong passwords in 15 minutes lock an address out until the window passes; a success clears it', (t) => {
  let now = 0
  const limiter = new LoginLimiter({ nowMs: () => now })
  for (let i = 0; i < 4; i++) limiter.failed('10.0.0.9')
  t.is(limiter.retryAfterMs('10.0.0.9'), 0)
  limiter.failed('10.0.0.9')
  t.is(limiter.retryAfterMs('10.0.0.9'), 15 * 60_000)
  t.is(limiter.retryAfterMs('10.0.0.10'), 0, 'other addresses are not affected')
  now += 15 * 60_000
  t.is(limiter.retryAfterMs('10.0.0.9'), 0)
  limiter.failed('10.0.0.9')
  limiter.succeeded('10.0.0.9')
  t.is(limiter.retryAfterMs('10.0.0.9'), 0)
})
