import test from 'ava'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createServer } from 'node:https'
import { PROVING_KEY_FILE, VERIFICATION_KEY_FILE } from '../../src/app/proof-keys.js'
import { makeSelfSignedCert } from '../../src/adapters/tls/self-signed-cert.js'
import { ownerSetup } from '../helpers/zk.js'
import { runQuloud, startQuloud } from '../helpers/cli.js'
import { tempDir } from '../helpers/index.js'

/** A data folder holding proof keys, as `quloud init` leaves them (the cached test setup). */
async function keysFolder(t: Parameters<typeof tempDir>[0]) {
  const setup = await ownerSetup('b')
  const dir = await tempDir(t)
  writeFileSync(join(dir, PROVING_KEY_FILE), setup.provingKey)
  writeFileSync(join(dir, VERIFICATION_KEY_FILE), JSON.stringify(setup.verificationKey) + '\n')
  return dir
}

test('quloud conformance passes against our node, check by check, pinned by the printed fingerprint', async (t) => {
  const keys = await keysFolder(t)
  const node = await startQuloud(t, ['start', '--data', await tempDir(t), '--web-listen', '127.0.0.1:0', '--peer-listen', '127.0.0.1:0'])
  const m = /peer protocol: +(https:\/\/127\.0\.0\.1:\d+) \(TLS certificate sha256 ([0-9a-f]{64})\)/.exec(node.output().stdout)
  t.truthy(m)
  const r = await runQuloud(['conformance', m?.[1] as string, '--keys-from', keys, '--cert', m?.[2] as string])
  t.is(r.code, 0, `${r.stdout}\n${r.stderr}`)
  const lines = r.stdout.split('\n').filter((l) => /^[✓✗]/.test(l))
  t.true(lines.length >= 14)
  t.true(lines.every((l) => l.startsWith('✓')), r.stdout)
  t.regex(r.stdout, /All \d+ checks passed\./)
  const json = await runQuloud(['conformance', m?.[1] as string, '--keys-from', keys, '--json'])
  t.is(json.code, 0)
  const report = JSON.parse(json.stdout.trim().split('\n').pop() as string)
  t.is(report.failed, 0)
  t.is(report.passed, report.checks.length)
})

test('quloud conformance fails (exit 40) against a server that does not speak the protocol, naming what failed', async (t) => {
  const keys = await keysFolder(t)
  const tls = await makeSelfSignedCert()
  const impostor = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    res.writeHead(req.url === '/v1/announcement' ? 200 : 404, { 'content-type': 'application/json' })
    res.end(req.url === '/v1/announcement' ? '{"protocol":1}' : '{}')
  })
  await new Promise<void>((r) => impostor.listen(0, '127.0.0.1', () => r()))
  t.teardown(() => impostor.close())
  const r = await runQuloud(['conformance', `https://127.0.0.1:${(impostor.address() as { port: number }).port}`, '--keys-from', keys])
  t.is(r.code, 40, `${r.stdout}\n${r.stderr}`)
  t.regex(r.stdout, /✗ announcement/)
  t.regex(r.stdout, /checks failed\./)
})

test('quloud conformance refuses a node whose certificate is not the pinned one', async (t) => {
  const keys = await keysFolder(t)
  const node = await startQuloud(t, ['start', '--data', await tempDir(t), '--web-listen', '127.0.0.1:0', '--peer-listen', '127.0.0.1:0'])
  const url = /peer protocol: +(https:\/\/\S+) /.exec(node.output().stdout)?.[1] as string
  const r = await runQuloud(['conformance', url, '--keys-from', keys, '--cert', 'ab'.repeat(32)])
  t.is(r.code, 40)
  t.regex(r.stdout, /✗ announcement.*\n.*certificate other than the one pinned/)
})
