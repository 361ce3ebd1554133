import test from 'ava'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { tempDir } from '../helpers/index.js'
import { writeTree } from '../helpers/tree.js'
import { initOwner, startNode, storageNodes, type NodeProc } from '../helpers/nodes.js'

async function ok(node: NodeProc, args: string[]) {
  const r = await node.cli(args)
  if (r.code !== 0) throw new Error(`quloud ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`)
  return r
}

async function waitFor<T>(what: string, fn: () => T | null | undefined, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = fn()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`${what} did not happen`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

test.serial('alerts go to a webhook when a backup fails and when an audit finds lost copies; /metrics and /healthz answer', async (t) => {
  const got: Array<Record<string, unknown>> = []
  const hook = createServer((req, res) => {
    let body = ''
    req.on('data', (d) => (body += d))
    req.on('end', () => {
      got.push(JSON.parse(body))
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()))
  t.teardown(() => new Promise<void>((r) => hook.close(() => r())))
  const [s1] = await storageNodes(t, 1)
  if (!s1) return t.fail()
  const o = await initOwner(t, 'a')
  const owner = await startNode(t, o.data, { unlock: o.pw, env: { QULOUD_ALERT_WEBHOOK: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alerts`, QULOUD_AUDIT_DEADLINE_SECONDS: '3' } })
  await ok(owner, ['peer', 'add', s1.peerUrl])
  const src = join(await tempDir(t), 'docs')
  await writeTree(src, { 'a.txt': 'alpha' })
  await ok(owner, ['share', 'add', 'docs', src, '--copies', '1'])
  await ok(owner, ['backup', 'docs', '--wait'])

  const web = /settings page and API: (\S+)/.exec(owner.output().stdout)?.[1] as string
  const { token } = JSON.parse(await readFile(join(o.data, 'api.json'), 'utf8')) as { token: string }
  t.is((await fetch(`${web}healthz`)).status, 200)
  t.is((await fetch(`${web}metrics`)).status, 401)
  const metrics = await (await fetch(`${web}metrics`, { headers: { authorization: `Bearer ${token}` } })).text()
  t.regex(metrics, /quloud_backups_total\{outcome="completed"\} 1/)
  t.regex(metrics, /quloud_share_packs\{share="docs",health="healthy"\} [1-9]/)
  t.regex(metrics, /quloud_peers\{state="active"\} 1/)
  t.regex(metrics, /quloud_share_last_backup_timestamp_seconds\{share="docs"\} \d/)

  // The only peer stops: the audit finds its copies gone and there is nowhere to repair to.
  await s1.stop('SIGKILL')
  const audit = await owner.cli(['audit', '--wait'])
  t.is(audit.code, 31)
  const lost = await waitFor('a copies-lost alert', () => got.find((a) => a.event === 'copies-lost'))
  t.regex(String(lost.message), /bad or lost/)

  // The share's folder disappears: the backup fails, and says so.
  await rm(src, { recursive: true })
  const failed = await owner.cli(['backup', 'docs', '--wait'])
  t.not(failed.code, 0)
  const alert = await waitFor('a backup-failed alert', () => got.find((a) => a.event === 'backup-failed'))
  t.is(alert.share, 'docs')
  const after = await (await fetch(`${web}metrics`, { headers: { authorization: `Bearer ${token}` } })).text()
  // The node retries a pending backup by itself: the count may grow, the alert comes once.
  t.regex(after, /quloud_backups_total\{outcome="failed"\} [1-9]/)
  await new Promise((r) => setTimeout(r, 5000))
  t.is(got.filter((a) => a.event === 'backup-failed').length, 1)
  t.regex(after, /quloud_audit_replicas\{result="failed"\} [1-9]/)
})
