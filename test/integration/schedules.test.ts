import test from 'ava'
import { join } from 'node:path'
import { mkdir, rename, writeFile } from 'node:fs/promises'
import { tempDir } from '../helpers/index.js'
import { describeTree } from '../helpers/tree.js'
import { initOwner, startNode, storageNodes, waitForStatus } from '../helpers/nodes.js'

type Status = { shares: Array<Record<string, unknown>> }
const share = (s: Status, name: string) => s.shares.find((x) => x.name === name) as Record<string, number | string | boolean>

test('continuous mode backs up once after a burst of changes and renames; a cron schedule queues backups; a bad schedule is refused', async (t) => {
  const [store] = await storageNodes(t, 1)
  if (!store) return t.fail()
  const o = await initOwner(t, 'a')
  const owner = await startNode(t, o.data, { unlock: o.pw, env: { QULOUD_WATCH_DEBOUNCE_SECONDS: '2' } })
  t.is((await owner.cli(['peer', 'add', store.peerUrl])).code, 0)
  const work = await tempDir(t)
  const watched = join(work, 'watched')
  await mkdir(watched)
  const bad = await owner.cli(['share', 'add', 'w', watched, '--schedule', 'every day at noon'])
  t.is(bad.code, 2)
  t.regex(bad.stderr, /cron/)
  t.is((await owner.cli(['share', 'add', 'w', watched, '--watch', '--copies', '1'])).code, 0)
  // A burst: 40 files written and half of them renamed within a second, then quiet.
  for (let i = 0; i < 40; i++) await writeFile(join(watched, `f${i}.txt`), `file ${i}`)
  for (let i = 0; i < 20; i++) await rename(join(watched, `f${i}.txt`), join(watched, `renamed-${i}.txt`))
  const first = await waitForStatus(owner, (s) => share(s, 'w')?.snapshots === 1 && share(s, 'w')?.lastResult === 'complete', 60_000)
  t.is(share(first, 'w').snapshots, 1)
  await new Promise((r) => setTimeout(r, 4000))
  const quiet = await waitForStatus(owner, () => true)
  t.is(share(quiet, 'w').snapshots, 1, 'one burst, one backup')
  const restored = join(work, 'r')
  t.is((await owner.cli(['restore', 'w', '--to', restored])).code, 0)
  t.deepEqual(await describeTree(restored), await describeTree(watched))
  // A later change queues another backup by itself.
  await writeFile(join(watched, 'later.txt'), 'later')
  await waitForStatus(owner, (s) => share(s, 'w')?.snapshots === 2, 60_000)

  // Every five seconds (node-cron's six-field form with seconds).
  const timed = join(work, 'timed')
  await mkdir(timed)
  await writeFile(join(timed, 'x'), 'x')
  t.is((await owner.cli(['share', 'add', 'timed', timed, '--schedule', '*/5 * * * * *', '--copies', '1'])).code, 0)
  await waitForStatus(owner, (s) => Number(share(s, 'timed')?.snapshots) >= 2, 60_000)
  t.is(await owner.stop(), 0)
  t.is(await store.stop(), 0)
})
