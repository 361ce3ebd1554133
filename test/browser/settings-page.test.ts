import test from 'ava'
import { existsSync } from 'node:fs'
import { readFile, writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { tempDir } from '../helpers/index.js'
import { writeTree } from '../helpers/tree.js'
import { ownerSetup } from '../helpers/zk.js'
import { initOwner, startNode, storageNodes } from '../helpers/nodes.js'
import { CHROMIUM, launchChromium, screenshots } from '../helpers/browser.js'

const ADMIN = 'correct horse battery'
const PASSPHRASE = 'a long enough passphrase'

if (!existsSync(CHROMIUM)) console.log(`Browser tests skipped: ${CHROMIUM} is missing (apt-get install -y chromium; .ci/run does)`)

;(existsSync(CHROMIUM) ? test.serial : test.serial.skip)('settings page in Chromium: first-run wizard, login, a share, a backup to 100%, browse and restore, keys, settings; CSRF and wrong passwords refused', async (t) => {
  const [storage] = await storageNodes(t, 1)
  if (!storage) return t.fail()
  // A fresh node; the owner's proof keys are put in place from the test cache (the wizard would
  // otherwise make them, which takes minutes).
  const data = join(await tempDir(t), 'data')
  await mkdir(data, { recursive: true })
  const keys = await ownerSetup('a')
  await writeFile(join(data, 'proving-key.zkey'), keys.provingKey, { mode: 0o600 })
  await writeFile(join(data, 'verification-key.json'), JSON.stringify(keys.verificationKey) + '\n', { mode: 0o600 })
  const node = await startNode(t, data)
  const url = /settings page and API: (\S+)/.exec(node.output().stdout)?.[1] as string
  const src = join(await tempDir(t), 'photos')
  await writeTree(src, { 'a.txt': 'alpha', 'trip/beach.txt': 'sand and sea', 'trip/notes/day1.md': '# day 1\n'.repeat(200) })

  const browser = await launchChromium()
  t.teardown(() => browser.close())
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  page.on('console', (m) => {
    // The one wrong login below answers 401 on purpose; anything else is a fault of the page.
    if (m.type() === 'error' && !(m.location().url.endsWith('/login') && m.text().includes('401'))) errors.push(`${m.text()} (${m.location().url})`)
  })

  // First run: the wizard, then the recovery key once (text and QR), confirmed.
  await page.goto(url)
  t.regex(page.url(), /\/setup$/)
  await screenshots(page, '01-setup')
  await page.fill('input[name=adminPassword]', ADMIN)
  await page.fill('input[name=adminPassword2]', ADMIN)
  await page.fill('input[name=passphrase]', PASSPHRASE)
  await page.fill('input[name=passphrase2]', 'something else entirely')
  await page.click('button.primary')
  t.regex(await page.textContent('.flash.error') ?? '', /passphrases differ/)
  await page.fill('input[name=adminPassword]', ADMIN)
  await page.fill('input[name=adminPassword2]', ADMIN)
  await page.fill('input[name=passphrase]', PASSPHRASE)
  await page.fill('input[name=passphrase2]', PASSPHRASE)
  await page.click('button.primary')
  t.regex(page.url(), /\/setup\/recovery-key$/)
  const recoveryKey = (await page.textContent('#recovery-key'))?.trim() ?? ''
  t.regex(recoveryKey, /^[0-9A-Z]{4,}(-[0-9A-Z]{4,})+$/)
  t.is(await page.locator('.qr svg').count(), 1)
  await screenshots(page, '02-recovery-key')
  await page.click('button.primary') // without ticking the box: the browser refuses the form
  t.regex(page.url(), /\/setup\/recovery-key$/)
  await page.check('input[name=written]')
  await page.click('button.primary')
  t.is(new URL(page.url()).pathname, '/')
  t.regex(await page.textContent('.flash.ok') ?? '', /set up/)
  // Shown once: never again.
  await page.goto(`${url}setup/recovery-key`)
  t.is(new URL(page.url()).pathname, '/')
  t.false((await page.content()).includes(recoveryKey))
  t.false((await readFile(join(data, 'admin.json'), 'utf8')).includes(ADMIN))

  // Log out; a wrong password is refused; the right one lets in.
  await page.click('header .logout button')
  t.regex(page.url(), /\/login$/)
  await page.fill('input[name=password]', 'not the password')
  const refused = page.waitForResponse((r) => r.url().endsWith('/login') && r.request().method() === 'POST')
  await page.click('button.primary')
  t.is((await refused).status(), 401)
  t.regex(await page.textContent('.flash.error') ?? '', /Wrong password/)
  await screenshots(page, '03-login')
  await page.fill('input[name=password]', ADMIN)
  await page.click('button.primary')
  t.is(new URL(page.url()).pathname, '/')

  // A peer, then a share.
  await page.goto(`${url}peers`)
  await page.fill('input[name=url]', storage.peerUrl)
  await page.click('form[action="/peers"] button.primary')
  t.regex(await page.textContent('.flash.ok') ?? '', /added/)
  await screenshots(page, '05-peers')
  await page.goto(`${url}shares`)
  await page.fill('#add-share input[name=name]', 'photos')
  await page.fill('#add-share input[name=path]', src)
  await page.fill('#add-share input[name=copies]', '1')
  await page.check('#add-share input[value=schedule]')
  await page.fill('#add-share input[name=schedule]', '99 99 * * *')
  await page.click('#add-share button.primary')
  t.regex(await page.textContent('.flash.error') ?? '', /not a valid cron expression|cron/)
  await page.fill('#add-share input[name=name]', 'photos')
  await page.fill('#add-share input[name=path]', src)
  await page.fill('#add-share input[name=copies]', '1')
  await page.check('#add-share input[value=manual]')
  await page.click('#add-share button.primary')
  t.regex(await page.textContent('.flash.ok') ?? '', /Share "photos" added/)
  await screenshots(page, '06-shares')

  // A backup from the dashboard; the live progress (Server-Sent Events) reaches 100 %.
  await page.goto(url)
  await page.click('tr[data-share="photos"] button')
  await page.waitForSelector('#jobs li[data-state="done"] progress[value="100"]', { timeout: 120_000 })
  t.regex(await page.textContent('#jobs li[data-state="done"] .state') ?? '', /done \(complete\)/)
  // The page's CSP allows no eval, so the wait is a locator, not a function.
  await page.locator('tr[data-share="photos"] [data-health]').filter({ hasText: /[1-9]\d* healthy · 0 degraded · 0 lost/ }).waitFor({ timeout: 30_000 })
  await screenshots(page, '04-dashboard')

  // Browse the snapshot into a folder and restore one file.
  await page.goto(`${url}snapshots?share=photos`)
  await page.click('a:has-text("trip")')
  t.regex(page.url(), /path=trip/)
  await page.check('input[value="trip/beach.txt"]')
  const to = join(await tempDir(t), 'restored')
  await page.fill('input[name=to]', to)
  await screenshots(page, '07-snapshots')
  await page.click('#restore button.primary')
  await page.waitForSelector('#jobs li[data-state="done"]:has(.kind:text("restore"))', { timeout: 60_000 })
  t.is(await readFile(join(to, 'trip/beach.txt'), 'utf8'), 'sand and sea')
  t.false(existsSync(join(to, 'a.txt')))

  // Keys: a share key shown once, as text and QR; settings.
  await page.goto(`${url}keys`)
  await page.click('form[action="/keys/export"] button')
  t.regex(await page.textContent('#share-key') ?? '', /quloud share key v1/)
  await screenshots(page, '08-keys')
  await page.goto(`${url}keys`)
  t.is(await page.locator('#share-key').count(), 0)
  await page.goto(`${url}settings`)
  t.regex(await page.textContent('main') ?? '', /LAN/)
  await screenshots(page, '09-settings')
  await page.fill('#settings input[name=auditSchedule]', '99 99 * * *')
  await page.click('#settings button.primary')
  t.regex(await page.textContent('.flash.error') ?? '', /auditSchedule/)
  t.false(existsSync(join(data, 'config.json')), 'a refused setting writes nothing')
  await page.check('#settings input[name=ssdp]')
  await page.fill('#settings input[name=uploadLimitMBps]', '2.5')
  await page.fill('#settings input[name=alertWebhook]', 'https://hooks.example/secret-token')
  await page.click('#settings button.primary')
  t.regex(await page.textContent('.flash.ok') ?? '', /applies|apply/)
  t.like(JSON.parse(await readFile(join(data, 'config.json'), 'utf8')), { ssdp: true, uploadLimitBytesPerSec: 2_500_000, alertWebhook: 'https://hooks.example/secret-token' })

  // A state-changing request without the CSRF token is refused and changes nothing.
  const noForm = await page.request.post(`${url}shares`, { form: { name: 'sneaky', path: src, mode: 'manual' }, maxRedirects: 0 })
  t.is(noForm.status(), 403)
  t.is((await noForm.json()).error.code, 'CSRF_INVALID')
  const noHeader = await page.request.post(`${url}api/v1/audits`)
  t.is(noHeader.status(), 403)
  const csrf = await page.getAttribute('meta[name=csrf-token]', 'content')
  const withHeader = await page.request.get(`${url}api/v1/shares`, { headers: { 'x-csrf-token': csrf ?? '' } })
  t.deepEqual(((await withHeader.json()).shares as Array<{ name: string }>).map((s) => s.name), ['photos'])
  // Another browser (no session) gets nothing.
  const stranger = await browser.newContext()
  const anon = await stranger.request.get(`${url}api/v1/shares`)
  t.is(anon.status(), 401)
  const anonPage = await stranger.newPage()
  await anonPage.goto(`${url}shares`)
  t.regex(anonPage.url(), /\/login$/)
  await stranger.close()

  // A friend backs up to this node: it shows among the owners storing here and gets a quota.
  const f = await initOwner(t, 'b')
  const friend = await startNode(t, f.data, { unlock: f.pw })
  const friendSrc = join(await tempDir(t), 'friend')
  await writeTree(friendSrc, { 'f.txt': 'friendly' })
  for (const args of [['peer', 'add', node.peerUrl], ['share', 'add', 'stuff', friendSrc, '--copies', '1'], ['backup', 'stuff', '--wait']]) {
    const r = await friend.cli(args)
    t.is(r.code, 0, r.stderr)
  }
  await page.goto(`${url}peers`)
  t.is(await page.locator('form[action^="/storage/"]').count(), 1)
  await page.fill('form[action^="/storage/"] input[name=quotaGB]', '1.5')
  await page.click('form[action^="/storage/"] button')
  t.regex(await page.textContent('.flash.ok') ?? '', /1\.5 GB/)
  t.regex(await page.textContent('main') ?? '', /1\.5 GB(?! \(default\))/)
  await screenshots(page, '05-peers')

  t.deepEqual(errors, [])
  await context.close()
})

