import test from 'ava'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ConfigFile } from './config-file.js'
import { FsDataDir } from '../../adapters/fs/fs-data-dir.js'
import { tempDir } from '../../../test/helpers/index.js'

test('the settings page edits config.json: merged, validated as a start would, written 0600; bad values change nothing', async (t) => {
  const dir = await tempDir(t)
  await writeFile(join(dir, 'config.json'), JSON.stringify({ version: 1, logLevel: 'debug' }))
  const file = new ConfigFile(await FsDataDir.open(dir))
  const c = await file.update({ ssdp: true, uploadLimitBytesPerSec: 2_000_000, alertWebhook: 'https://hooks.example/abc', shareRoots: ['/mnt/tank'] })
  t.like(c, { ssdp: true, uploadLimitBytesPerSec: 2_000_000, logLevel: 'debug', shareRoots: ['/mnt/tank'] })
  const saved = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'))
  t.like(saved, { version: 1, logLevel: 'debug', ssdp: true, alertWebhook: 'https://hooks.example/abc' })
  t.is((await stat(join(dir, 'config.json'))).mode & 0o777, 0o600)
  const before = await readFile(join(dir, 'config.json'), 'utf8')
  await t.throwsAsync(file.update({ auditSchedule: 'nightly' }), { code: 'CONFIG_INVALID' })
  await t.throwsAsync(file.update({ alertWebhook: 'ftp://x' }), { code: 'CONFIG_INVALID' })
  await t.throwsAsync(file.update({ shareRoots: ['relative/path'] }), { code: 'CONFIG_INVALID' })
  await t.throwsAsync(file.update({ logLevel: 'error' } as never), { code: 'CONFIG_INVALID' })
  t.is(await readFile(join(dir, 'config.json'), 'utf8'), before)
  t.like(await file.update({ alertWebhook: null }), { alertWebhook: null })
  const strict = new ConfigFile(await FsDataDir.open(dir), (e) => e === '0 3 * * *')
  await t.throwsAsync(strict.update({ auditSchedule: '99 99 * * *' }), { code: 'CONFIG_INVALID', message: /auditSchedule/ })
  t.like(await strict.update({ auditSchedule: '0 3 * * *' }), { auditSchedule: '0 3 * * *' })
})
