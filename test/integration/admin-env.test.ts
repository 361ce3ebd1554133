import test from 'ava'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { tempDir } from '../helpers/index.js'
import { startNode } from '../helpers/nodes.js'

/** One form post with the session cookie and the page's CSRF token, as a browser would send it. */
async function post(url: string, cookie: string, form: Record<string, string>) {
  return fetch(url, { method: 'POST', redirect: 'manual', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() })
}

test('QULOUD_ADMIN_PASSWORD (the NAS templates): hashed at the first start, never kept in clear; the wizard then wants that password first', async (t) => {
  const data = join(await tempDir(t), 'data')
  const node = await startNode(t, data, { env: { QULOUD_ADMIN_PASSWORD: 'from the nas template' } })
  const web = /settings page and API: (\S+)/.exec(node.output().stdout)?.[1] as string
  t.false((await readFile(join(data, 'admin.json'), 'utf8')).includes('from the nas template'))
  // Not the wizard for just anyone: the login page.
  const first = await fetch(web, { redirect: 'manual' })
  const cookie = (first.headers.get('set-cookie') ?? '').split(';')[0] as string
  t.is(first.headers.get('location'), '/login')
  const login = await (await fetch(`${web}login`, { headers: { cookie } })).text()
  const csrf = /name="_csrf" value="([^"]+)"/.exec(login)?.[1] as string
  t.is((await post(`${web}setup`, cookie, { _csrf: csrf, passphrase: 'a long enough passphrase', passphrase2: 'a long enough passphrase' })).headers.get('location'), '/setup', 'refused without login')
  t.is((await post(`${web}login`, cookie, { _csrf: csrf, password: 'wrong password here' })).status, 401)
  const ok = await post(`${web}login`, cookie, { _csrf: csrf, password: 'from the nas template' })
  t.is(ok.headers.get('location'), '/setup')
  const admin = (ok.headers.get('set-cookie') ?? '').split(';')[0] as string
  const setup = await (await fetch(`${web}setup`, { headers: { cookie: admin } })).text()
  t.regex(setup, /Key passphrase/)
  t.notRegex(setup, /Admin password/, 'the password is set already: only the passphrase is asked')
})
