import test from 'ava'
import { join } from 'node:path'
import { writeFile, readFile, stat } from 'node:fs/promises'
import { runQuloud, startQuloud } from '../helpers/cli.js'
import { tempDir, sodium } from '../helpers/index.js'
import { parseRecoveryKey, unwrapMasterKey } from '../../src/core/crypto/index.js'
import { Argon2PasswordKdf } from '../../src/adapters/argon2/argon2-password-kdf.js'

const PASSPHRASE = 'correct horse battery staple'

test('quloud init prints the recovery key once; it opens the key file; a second init is refused', async (t) => {
  const dir = await tempDir(t)
  await writeFile(join(dir, 'pw'), PASSPHRASE + '\n')
  const first = await runQuloud(['init', '--data', join(dir, 'data'), '--passphrase-file', join(dir, 'pw'), '--defer-proof-setup'])
  t.is(first.code, 0, first.stderr)
  const key = /^\s{4}([0-9A-Z]{6}(?:-[0-9A-Z]{6}){8})$/m.exec(first.stdout)?.[1]
  t.truthy(key, first.stdout)
  const keyFile = await readFile(join(dir, 'data', 'master-key.json'), 'utf8')
  t.deepEqual(await unwrapMasterKey(sodium, new Argon2PasswordKdf(), keyFile, PASSPHRASE), parseRecoveryKey(key as string))
  t.is((await stat(join(dir, 'data', 'master-key.json'))).mode & 0o777, 0o600)
  t.false(first.stderr.includes(key as string))

  const again = await runQuloud(['init', '--data', join(dir, 'data'), '--passphrase-file', join(dir, 'pw'), '--defer-proof-setup'])
  t.is(again.code, 7)
  t.regex(again.stderr, /ALREADY_INITIALIZED/)
  t.is(await readFile(join(dir, 'data', 'master-key.json'), 'utf8'), keyFile)
})

test('quloud init without a passphrase and without a terminal says what to do (exit 2)', async (t) => {
  const dir = await tempDir(t)
  const r = await runQuloud(['init', '--data', join(dir, 'data')], { env: { QULOUD_PASSPHRASE_FILE: '' } })
  t.is(r.code, 2)
  t.regex(r.stderr, /--passphrase-file/)
})

test('quloud start on embedded defaults serves health, status and page on loopback, and stops on SIGINT', async (t) => {
  const cwd = await tempDir(t)
  const node = await startQuloud(t, ['start'], { cwd, env: { QULOUD_WEB_LISTEN: '127.0.0.1:0', QULOUD_PEER_LISTEN: '127.0.0.1:0', QULOUD_DATA_DIR: '' } })
  const url = /settings page and API: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(node.output().stdout)?.[1] as string
  t.truthy(url)
  t.regex(node.output().stdout, new RegExp(`data folder: +${join(cwd, 'quloud-data').replace(/[/.]/g, '\\$&')}`))
  const health = await fetch(`${url}healthz`)
  t.is(health.status, 200)
  t.deepEqual(await health.json(), { status: 'ok' })
  const noToken = await fetch(`${url}api/v1/status`)
  t.is(noToken.status, 401)
  t.is(((await noToken.json()) as { error: { code: string } }).error.code, 'UNAUTHORIZED')
  const api = JSON.parse(await readFile(join(cwd, 'quloud-data', 'api.json'), 'utf8')) as { url: string; token: string }
  t.is(api.url, url)
  t.is((await stat(join(cwd, 'quloud-data', 'api.json'))).mode & 0o777, 0o600)
  const status = (await (await fetch(`${url}api/v1/status`, { headers: { authorization: `Bearer ${api.token}` } })).json()) as Record<string, unknown>
  t.is(status.initialized, false)
  t.is(status.locked, true)
  t.regex(String(status.nodeId), /^[0-9a-f]{64}$/)
  const page = await fetch(url)
  t.is(page.status, 200)
  // A fresh node serves the first-run wizard (and names the shell alternative).
  const html = await page.text()
  t.regex(html, /Welcome to Quloud/)
  t.regex(html, /quloud init --data/)
  const missing = await fetch(`${url}nope`)
  t.is(missing.status, 404)
  t.is(((await missing.json()) as { error: { code: string } }).error.code, 'NOT_FOUND')
  node.child.kill('SIGINT')
  t.is(await node.exited, 0)
  t.regex(node.output().stdout, /Quloud stopped\./)
})

test('quloud start unlocks with the passphrase file; a wrong one is exit 4 and a bad address exit 2', async (t) => {
  const dir = await tempDir(t)
  const data = join(dir, 'data')
  await writeFile(join(dir, 'pw'), PASSPHRASE)
  await writeFile(join(dir, 'wrong'), 'not the passphrase')
  t.is((await runQuloud(['init', '--data', data, '--passphrase-file', join(dir, 'pw'), '--defer-proof-setup'])).code, 0)
  const wrong = await runQuloud(['start', '--data', data, '--passphrase-file', join(dir, 'wrong'), '--web-listen', '127.0.0.1:0', '--peer-listen', '127.0.0.1:0'])
  t.is(wrong.code, 4)
  t.regex(wrong.stderr, /PASSPHRASE_WRONG/)
  t.false(wrong.stderr.includes('not the passphrase'))
  const bad = await runQuloud(['start', '--data', data, '--web-listen', 'nowhere'])
  t.is(bad.code, 2)
  t.regex(bad.stderr, /webListen/)
  const node = await startQuloud(t, ['start', '--data', data, '--passphrase-file', join(dir, 'pw'), '--web-listen', '127.0.0.1:0', '--peer-listen', '127.0.0.1:0'])
  t.regex(node.output().stdout, /keys: +unlocked/)
  const url = /settings page and API: (\S+)/.exec(node.output().stdout)?.[1] as string
  const { token } = JSON.parse(await readFile(join(data, 'api.json'), 'utf8')) as { token: string }
  const status = (await (await fetch(`${url}api/v1/status`, { headers: { authorization: `Bearer ${token}` } })).json()) as Record<string, unknown>
  t.is(status.locked, false)
  t.is(status.ownerReady, false)
  // A second node on the same address fails cleanly with IO_FAILED (exit 10).
  const port = new URL(url).port
  const clash = await runQuloud(['start', '--data', join(dir, 'other'), '--web-listen', `127.0.0.1:${port}`])
  t.is(clash.code, 10)
  node.child.kill('SIGTERM')
  t.is(await node.exited, 0)
})
