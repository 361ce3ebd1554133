import test from 'ava'
import { join } from 'node:path'
import { writeFile, stat, readFile } from 'node:fs/promises'
import { runQuloud } from '../helpers/cli.js'
import { tempDir } from '../helpers/index.js'

// The real per-owner trusted setup as `quloud init` runs it: minutes of CPU, so one test only.
test('quloud init runs the owner\'s own setup with progress and keeps both keys in the data folder', async (t) => {
  t.timeout(15 * 60_000)
  const dir = await tempDir(t)
  await writeFile(join(dir, 'pw'), 'correct horse battery staple')
  const r = await runQuloud(['init', '--data', join(dir, 'data'), '--passphrase-file', join(dir, 'pw')])
  t.is(r.code, 0, r.stderr)
  for (const step of [1, 2, 3, 4, 5, 6]) t.regex(r.stderr, new RegExp(`step ${step}/6`))
  t.regex(r.stderr, /Proof keys ready in \d+ s/)
  t.log(/Proof keys ready in \d+ s/.exec(r.stderr)?.[0])
  const vk = JSON.parse(await readFile(join(dir, 'data', 'verification-key.json'), 'utf8'))
  t.is(vk.protocol, 'groth16')
  t.is(vk.nPublic, 35)
  t.true((await stat(join(dir, 'data', 'proving-key.zkey'))).size > 1_000_000)
  // Keys are pinned by peers: a second setup is refused rather than replacing them.
  const again = await runQuloud(['proof-setup', '--data', join(dir, 'data')])
  t.is(again.code, 7)
})
