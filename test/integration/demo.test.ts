import test from 'ava'
import { join } from 'node:path'
import { writeFile, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { runQuloud } from '../helpers/cli.js'
import { tempDir } from '../helpers/index.js'
import { ownerSetup } from '../helpers/zk.js'

test('quloud demo: four node processes, backup to three, restore, recovery from the recovery key; exits 0 and cleans up', async (t) => {
  const keys = await tempDir(t)
  const setup = await ownerSetup('a')
  await writeFile(join(keys, 'proving-key.zkey'), setup.provingKey)
  await writeFile(join(keys, 'verification-key.json'), JSON.stringify(setup.verificationKey))
  const before = new Set((await readdir(tmpdir())).filter((n) => n.startsWith('quloud-demo-')))
  const r = await runQuloud(['demo', '--keys-from', keys])
  t.is(r.code, 0, `${r.stdout}\n${r.stderr}`)
  for (const step of [/Starting three storage nodes/, /snapshot 1: complete/, /identical to the original/, /recovers from the recovery key/, /restored "photos"/, /Done:/]) t.regex(r.stdout, step)
  t.is(r.stdout.match(/identical to the original/g)?.length, 2)
  const left = (await readdir(tmpdir())).filter((n) => n.startsWith('quloud-demo-') && !before.has(n))
  t.deepEqual(left, [])
})
