import test from 'ava'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { appendFile, mkdir, open, rename, rm, symlink, utimes, writeFile, chmod } from 'node:fs/promises'
import Database from 'better-sqlite3'
import { runQuloud } from '../helpers/cli.js'
import { tempDir } from '../helpers/index.js'
import { describeTree, writeTree } from '../helpers/tree.js'
import { initOwner, startNode, storageNodes, waitForStatus, type NodeProc } from '../helpers/nodes.js'

/** A file of random bytes written in 8 MiB pieces (a 100 MiB+ file must not sit in memory twice). */
async function randomFile(path: string, bytes: number): Promise<void> {
  const fh = await open(path, 'w')
  for (let at = 0; at < bytes; at += 8 << 20) await fh.write(randomBytes(Math.min(8 << 20, bytes - at)))
  await fh.close()
}

async function ok(node: NodeProc, args: string[]) {
  const r = await node.cli(args)
  if (r.code !== 0) throw new Error(`quloud ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`)
  return r
}

async function restoreAndDescribe(node: NodeProc, args: string[], to: string) {
  await ok(node, ['restore', ...args, '--to', to, '--json'])
  return describeTree(to)
}

test.serial('owner and three storage processes: backup, snapshots, restores, a node down (degraded, then healed), recovery from the recovery key, a shared key', async (t) => {
  const [s1, s2, s3] = await storageNodes(t, 3)
  if (!s1 || !s2 || !s3) return t.fail()
  const o = await initOwner(t, 'a')
  const owner = await startNode(t, o.data, { unlock: o.pw })
  for (const s of [s1, s2, s3]) await ok(owner, ['peer', 'add', s.peerUrl])
  t.is(JSON.parse((await ok(owner, ['peers', '--json'])).stdout).peers.length, 3)

  const work = await tempDir(t)
  const src = join(work, 'photos')
  await writeTree(src, { 'a.txt': 'alpha', 'empty.txt': '', 'emptydir/': {}, 'Ünïcødé 写真/naïve café.txt': 'ü and 写', 'docs/report.md': '# report\n'.repeat(1000), 'docs/old.txt': 'to be deleted', 'docs/rename-me.txt': 'renamed later' })
  await randomFile(join(src, 'large.bin'), 101 * 1024 * 1024 + 17)
  await symlink('a.txt', join(src, 'link-to-a'))
  await symlink('/etc/hostname', join(src, 'absolute-link'))
  await chmod(join(src, 'docs/report.md'), 0o600)
  await utimes(join(src, 'a.txt'), 1_500_000_000, 1_500_000_000.25)
  await ok(owner, ['share', 'add', 'photos', src, '--copies', '3'])
  const b1 = JSON.parse((await ok(owner, ['backup', 'photos', '--wait', '--json'])).stdout)
  t.is(b1.result, 'complete')
  t.is(b1.snapshot, 1)
  const expect1 = await describeTree(src)
  t.deepEqual(await restoreAndDescribe(owner, ['photos'], join(work, 'r1')), expect1)

  // Between snapshots: a file deleted, one renamed, one modified, one added.
  await rm(join(src, 'docs/old.txt'))
  await rename(join(src, 'docs/rename-me.txt'), join(src, 'docs/renamed.txt'))
  await appendFile(join(src, 'a.txt'), ' and beta')
  await writeFile(join(src, 'docs/new.txt'), 'new')
  const b2 = JSON.parse((await ok(owner, ['backup', 'photos', '--wait', '--json'])).stdout)
  t.is(b2.result, 'complete')
  t.is(b2.filesUnchanged, 4) // large.bin, empty.txt, report.md, the unicode file: not read again
  const expect2 = await describeTree(src)
  t.deepEqual(await restoreAndDescribe(owner, ['photos', '1'], join(work, 'r-s1')), expect1)
  t.deepEqual(await restoreAndDescribe(owner, ['photos', '2'], join(work, 'r-s2')), expect2)
  // Part of a snapshot: one file and one folder.
  const part = await restoreAndDescribe(owner, ['photos', '2', 'docs/renamed.txt', 'Ünïcødé 写真'], join(work, 'r-part'))
  t.deepEqual(Object.keys(part).sort(), ['docs/', 'docs/renamed.txt', 'Ünïcødé 写真/', 'Ünïcødé 写真/naïve café.txt'])
  const snaps = JSON.parse((await ok(owner, ['snapshots', 'photos', '--json'])).stdout).snapshots
  t.deepEqual(snaps.map((s: { seq: number }) => s.seq), [1, 2])

  // An empty share backs up and restores as an empty folder.
  await mkdir(join(work, 'nothing'))
  await ok(owner, ['share', 'add', 'nothing', join(work, 'nothing'), '--copies', '2'])
  t.is(JSON.parse((await ok(owner, ['backup', 'nothing', '--wait', '--json'])).stdout).result, 'complete')
  t.deepEqual(await restoreAndDescribe(owner, ['nothing'], join(work, 'r-nothing')), {})

  // One storage node down during a backup: degraded (exit 31), then healed when it returns.
  await s3.stop()
  await writeFile(join(src, 'while-down.txt'), 'written while a node was down')
  const degraded = await owner.cli(['backup', 'photos', '--wait', '--json'])
  t.is(degraded.code, 31, degraded.stderr)
  const down = await waitForStatus(owner, () => true)
  const photos = (s: { shares: Array<Record<string, unknown>> }) => s.shares.find((x) => x.name === 'photos') as Record<string, number | string>
  t.is(photos(down).lastResult, 'degraded')
  t.true(Number(photos(down).degraded) > 0)
  const back = Date.now()
  const s3again = await startNode(t, s3.data, { peerPort: s3.peerPort })
  const healed = await waitForStatus(owner, (s) => photos(s).lastResult === 'complete' && photos(s).degraded === 0 && photos(s).lost === 0)
  t.log(`healed ${Date.now() - back} ms after the node came back (catch-up every 2 s)`)
  t.is(photos(healed).healthy, photos(healed).packs)
  const expect3 = await describeTree(src)

  // Disaster: a fresh data folder, the recovery key and one peer address bring everything back.
  const fresh = await tempDir(t)
  await writeFile(join(fresh, 'rk'), `${o.recoveryKey}\n`)
  const rec = await runQuloud(['recover', '--data', join(fresh, 'data'), '--recovery-key-file', join(fresh, 'rk'), '--peer', s1.peerUrl, '--passphrase-file', o.pw, '--to', join(fresh, 'restored'), '--json'])
  t.is(rec.code, 0, rec.stderr)
  const recovered = JSON.parse(rec.stdout)
  t.deepEqual(recovered.shares.map((s: { name: string }) => s.name).sort(), ['nothing', 'photos'])
  t.is(recovered.peers, 3)
  t.deepEqual(await describeTree(join(fresh, 'restored', 'photos')), expect3)
  t.false(rec.stdout.includes(o.recoveryKey) || rec.stderr.includes(o.recoveryKey))
  // The recovered folder runs as a node with the owner's shares and snapshots.
  const again = await startNode(t, join(fresh, 'data'), { unlock: o.pw })
  t.deepEqual(JSON.parse((await ok(again, ['snapshots', 'photos', '--json'])).stdout).snapshots.map((s: { seq: number }) => s.seq), [1, 2, 3])
  t.deepEqual(await restoreAndDescribe(again, ['photos', '1', 'docs'], join(fresh, 'again-s1')), Object.fromEntries(Object.entries(expect1).filter(([k]) => k.startsWith('docs/'))))

  // Share by key: a friend's node (another owner, its own proof keys) lists and restores this share only.
  const keyText = (await ok(owner, ['key', 'export', 'photos', '--qr'])).stdout
  t.regex(keyText, /^quloud share key v1\n/)
  t.regex(keyText, /[█▀▄]/) // the QR code
  const f = await initOwner(t, 'b')
  const friend = await startNode(t, f.data, { unlock: f.pw })
  await writeFile(join(work, 'key.txt'), keyText.split('\n').filter((l) => /^(quloud share key|[a-z]+: )/.test(l)).join('\n'))
  await ok(friend, ['key', 'import', join(work, 'key.txt')])
  t.is(JSON.parse((await ok(friend, ['snapshots', 'photos', '--json'])).stdout).snapshots.length, 3)
  const fr = await restoreAndDescribe(friend, ['photos', 'latest', 'a.txt'], join(work, 'friend'))
  t.is(fr['a.txt'], expect3['a.txt'])
  const noBackup = await friend.cli(['backup', 'photos'])
  t.is(noBackup.code, 2)
  const other = await friend.cli(['snapshots', 'nothing'])
  t.is(other.code, 29) // NOT_FOUND: the key gave this share only

  for (const [name, n] of Object.entries({ owner, again, friend, s1, s2, s3again })) t.is(await n.stop(), 0, `${name} did not stop cleanly: ${n.output().stderr.slice(-3000)}`)
})

test.serial('kill -9 of the owner mid-backup: after restart the backup resumes without re-sending finished packs, and the index is consistent', async (t) => {
  const nodes = await storageNodes(t, 2)
  const o = await initOwner(t, 'a')
  let owner = await startNode(t, o.data, { unlock: o.pw })
  for (const s of nodes) await ok(owner, ['peer', 'add', s.peerUrl])
  const work = await tempDir(t)
  const src = join(work, 'big')
  await mkdir(src)
  for (let i = 0; i < 16; i++) await randomFile(join(src, `part-${i}.bin`), 12 * 1024 * 1024)
  await ok(owner, ['share', 'add', 'big', src, '--copies', '2'])
  await ok(owner, ['backup', 'big'])
  const indexPath = join(o.data, 'index.sqlite')
  const replicas = () => {
    const db = new Database(indexPath, { readonly: true, fileMustExist: true })
    try {
      return db.prepare('SELECT hex(pack_id) AS p, hex(node_id) AS n, stored_at_ms AS at FROM replicas').all() as Array<{ p: string; n: string; at: number }>
    } finally {
      db.close()
    }
  }
  const deadline = Date.now() + 120_000
  let before: Array<{ p: string; n: string; at: number }> = []
  while (before.length < 4) {
    if (Date.now() > deadline) return t.fail('no replicas appeared')
    await new Promise((r) => setTimeout(r, 50))
    before = await Promise.resolve().then(replicas).catch(() => [])
  }
  owner.child.kill('SIGKILL')
  await owner.exited
  const atKill = replicas()
  const packsTotal = (new Database(indexPath, { readonly: true }).prepare('SELECT count(*) AS n FROM packs').get() as { n: number }).n
  t.true(atKill.length < packsTotal * 2, 'the kill came before the backup finished')

  owner = await startNode(t, o.data, { unlock: o.pw })
  const done = await waitForStatus(owner, (s) => s.shares[0]?.lastResult === 'complete' && s.shares[0]?.pending === false, 180_000)
  t.is(done.shares[0]?.healthy, done.shares[0]?.packs)
  // Receipts recorded before the kill were kept: those packs were not sent again.
  const after = new Map(replicas().map((r) => [`${r.p}/${r.n}`, r.at]))
  for (const r of atKill) t.is(after.get(`${r.p}/${r.n}`), r.at)
  // The index is consistent: every file's chunks and every chunk's pack are recorded.
  const db = new Database(indexPath, { readonly: true })
  t.is((db.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check, 'ok')
  t.is((db.prepare('SELECT count(*) AS n FROM chunks c LEFT JOIN packs p ON p.pack_id = c.pack_id WHERE p.pack_id IS NULL').get() as { n: number }).n, 0)
  const files = db.prepare('SELECT chunk_ids, share_id FROM files').all() as Array<{ chunk_ids: Buffer; share_id: Buffer }>
  const hasChunk = db.prepare('SELECT 1 FROM chunks WHERE share_id = ? AND chunk_id = ?')
  let missing = 0
  for (const f of files) for (let at = 0; at < f.chunk_ids.length; at += 32) if (!hasChunk.get(f.share_id, f.chunk_ids.subarray(at, at + 32))) missing++
  t.is(files.length, 16)
  t.is(missing, 0)
  db.close()
  t.deepEqual(await restoreAndDescribe(owner, ['big'], join(work, 'restored')), await describeTree(src))
  for (const n of [owner, ...nodes]) t.is(await n.stop(), 0)
})
