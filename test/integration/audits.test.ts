import test from 'ava'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { open, writeFile } from 'node:fs/promises'
import { tempDir, walkFiles } from '../helpers/index.js'
import { describeTree, writeTree } from '../helpers/tree.js'
import { initOwner, startNode, storageNodes, type NodeProc } from '../helpers/nodes.js'
import { misbehavingNode } from '../helpers/evil-proxy.js'

async function ok(node: NodeProc, args: string[]) {
  const r = await node.cli(args)
  if (r.code !== 0) throw new Error(`quloud ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`)
  return r
}

const json = async (node: NodeProc, args: string[]) => JSON.parse((await ok(node, [...args, '--json'])).stdout)

interface PeerView { nodeId: string; url: string; state: string; copies: number; score: number; consecutiveFailures: number; auditsPassed: number; auditsFailed: number }
interface AuditOut { round: { startedAtMs: number; finishedAtMs: number; replicas: number; passed: number; failed: number; peers: Array<{ url: string; failed: number; reason: string | null; state: string }> }; repairs: Array<{ share: string; short: number; fromSpool: number; fromSource: number; fetched: number; stillShort: number }>; missing: number }

async function audit(owner: NodeProc): Promise<{ out: AuditOut; seconds: number; code: number | null; stdout: string; stderr: string }> {
  const started = Date.now()
  const r = await owner.cli(['audit', '--wait', '--json'])
  // With --json a failing command prints its result, then its error, one JSON document a line.
  return { out: JSON.parse(r.stdout.split('\n')[0] || '{}'), seconds: (Date.now() - started) / 1000, code: r.code, stdout: r.stdout, stderr: r.stderr }
}

const peerAt = (peers: PeerView[], url: string) => peers.find((p) => p.url === url) as PeerView

/** Flips one byte in the middle of every object a storage node keeps. */
async function corruptAll(node: NodeProc): Promise<number> {
  let n = 0
  for (const f of walkFiles(join(node.data, 'objects'))) {
    if (f.includes('.tmp')) continue
    const fh = await open(f, 'r+')
    const { size } = await fh.stat()
    const b = Buffer.alloc(1)
    await fh.read(b, 0, 1, Math.floor(size / 2))
    b[0] = (b[0] as number) ^ 0xff
    await fh.write(b, 0, 1, Math.floor(size / 2))
    await fh.close()
    n++
  }
  return n
}

test.serial('audits and repair: a stopped node is flagged and its copies rebuilt on a fourth; corrupt copies fail and are repaired from the source files and from healthy replicas; a peer that keeps failing takes no new packs', async (t) => {
  const [s1, s2, s3, s4, s5] = await storageNodes(t, 5)
  if (!s1 || !s2 || !s3 || !s4 || !s5) return t.fail()
  const o = await initOwner(t, 'a')
  const owner = await startNode(t, o.data, { unlock: o.pw, env: { QULOUD_AUDIT_DEADLINE_SECONDS: '5' } })
  for (const s of [s1, s2, s3]) await ok(owner, ['peer', 'add', s.peerUrl])
  const src = join(await tempDir(t), 'docs')
  await writeTree(src, { 'a.txt': 'alpha', 'notes/b.md': '# b\n'.repeat(500) })
  await writeFile(join(src, 'big.bin'), randomBytes(20 * 1024 * 1024))
  await ok(owner, ['share', 'add', 'docs', src, '--copies', '3'])
  t.is((await json(owner, ['backup', 'docs', '--wait'])).result, 'complete')

  // A clean round: every copy passes, nothing to repair.
  const clean = await audit(owner)
  t.is(clean.code, 0, clean.stderr)
  t.is(clean.out.round.failed, 0)
  t.true(clean.out.round.passed >= 3 * 3)
  t.deepEqual(clean.out.repairs, [])
  let status = await json(owner, ['status'])
  const packs = status.shares[0].packs as number
  t.is(status.shares[0].healthy, packs)
  t.truthy(status.shares[0].lastAuditMs)
  for (const p of status.peers as PeerView[]) t.like(p, { copies: packs, score: 1, auditsPassed: 1, auditsFailed: 0 })

  // One of three storage nodes stops; a fourth joins. The next round flags the stopped one and
  // repair brings every pack back to three copies, all new ones on the fourth node.
  await ok(owner, ['peer', 'add', s4.peerUrl])
  await s2.stop('SIGKILL')
  const down = await audit(owner)
  t.is(down.code, 0, down.stderr)
  t.log(`stopped node: audit round (detection) ${(down.out.round.finishedAtMs - down.out.round.startedAtMs) / 1000} s; detection and repair of ${packs} packs ${down.seconds.toFixed(1)} s (audit --wait)`)
  const flagged = down.out.round.peers.find((p) => p.url === s2.peerUrl)
  t.is(flagged?.failed, packs)
  t.regex(flagged?.reason ?? '', /PEER_UNREACHABLE/)
  t.is(down.out.repairs[0]?.short, packs)
  t.is(down.out.repairs[0]?.stillShort, 0)
  t.is(down.out.missing, 0)
  // Repair published a new catalog of the share (where the copies are now): one more pack.
  status = await json(owner, ['status'])
  const packsNow = status.shares[0].packs as number
  t.true(packsNow > packs)
  t.like(status.shares[0], { healthy: packsNow, degraded: 0, lost: 0 })
  let peers = (await json(owner, ['peers'])).peers as PeerView[]
  t.true(peerAt(peers, s4.peerUrl).copies >= packs)
  t.is(peerAt(peers, s2.peerUrl).copies, 0)
  t.is(peerAt(peers, s2.peerUrl).consecutiveFailures, 1)
  t.true(peerAt(peers, s2.peerUrl).score < 1)

  // Every object on a third node is damaged on its disk. Its audit fails object by object and
  // repair puts new copies on a fifth node: the packs of file data sealed again from the
  // unchanged source files, the folder and catalog packs fetched from healthy replicas.
  await ok(owner, ['peer', 'add', s5.peerUrl])
  const onS3 = peerAt(peers, s3.peerUrl).copies
  t.true((await corruptAll(s3)) >= onS3)
  const corrupt = await audit(owner)
  t.is(corrupt.code, 0, corrupt.stderr)
  t.log(`corrupt copies: audit round ${(corrupt.out.round.finishedAtMs - corrupt.out.round.startedAtMs) / 1000} s; detection and repair of ${onS3} packs ${corrupt.seconds.toFixed(1)} s`)
  const bad = corrupt.out.round.peers.find((p) => p.url === s3.peerUrl)
  t.is(bad?.failed, onS3)
  t.regex(bad?.reason ?? '', /OBJECT_CORRUPT/)
  const repair = corrupt.out.repairs[0]
  t.is(repair?.short, onS3)
  t.true((repair?.fromSource ?? 0) >= 1, JSON.stringify(repair))
  t.true((repair?.fetched ?? 0) >= 1, JSON.stringify(repair))
  t.is(repair?.stillShort, 0)
  peers = (await json(owner, ['peers'])).peers as PeerView[]
  t.true(peerAt(peers, s5.peerUrl).copies >= onS3)
  status = await json(owner, ['status'])
  t.like(status.shares[0], { healthy: status.shares[0].packs, degraded: 0, lost: 0 })

  // The stopped node fails a third round in a row: it is marked failing (no new packs).
  await audit(owner)
  peers = (await json(owner, ['peers'])).peers as PeerView[]
  t.like(peerAt(peers, s2.peerUrl), { state: 'failing', consecutiveFailures: 3 })
  t.is(peerAt(peers, s1.peerUrl).state, 'active')

  // Everything restores from what is left, bit for bit.
  const to = join(await tempDir(t), 'restored')
  await ok(owner, ['restore', 'docs', '--to', to])
  t.deepEqual(await describeTree(to), await describeTree(src))

  // With the fourth node gone too, no healthy peer is left for some copies: audit says so.
  await s4.stop('SIGKILL')
  const short = await audit(owner)
  t.is(short.code, 31, short.stderr)
  t.true(short.out.missing > 0)
  t.regex(short.stdout, /"code":"COPIES_MISSING"/)
})

test.serial('a storage node whose audit answers are wrong or too late is flagged; an honest one passes', async (t) => {
  const [s1, s2, s3] = await storageNodes(t, 3)
  if (!s1 || !s2 || !s3) return t.fail()
  const wrong = await misbehavingNode(t, s2, 'wrong')
  const late = await misbehavingNode(t, s3, 'late', 6000)
  const o = await initOwner(t, 'a')
  const owner = await startNode(t, o.data, { unlock: o.pw, env: { QULOUD_AUDIT_DEADLINE_SECONDS: '2' } })
  for (const url of [s1.peerUrl, wrong.url, late.url]) await ok(owner, ['peer', 'add', url])
  const src = join(await tempDir(t), 'docs')
  await writeTree(src, { 'a.txt': 'alpha', 'b.txt': 'beta'.repeat(10_000) })
  await ok(owner, ['share', 'add', 'docs', src, '--copies', '3'])
  t.is((await json(owner, ['backup', 'docs', '--wait'])).result, 'complete')
  wrong.state.armed = true
  late.state.armed = true

  const r = await audit(owner)
  t.is(r.code, 31, r.stderr) // two of three copies are bad and there is no other peer to repair to
  const byUrl = (url: string) => r.out.round.peers.find((p) => p.url === url)
  t.is(byUrl(s1.peerUrl)?.failed, 0)
  t.true((byUrl(wrong.url)?.failed ?? 0) >= 1)
  t.regex(byUrl(wrong.url)?.reason ?? '', /Merkle root/)
  t.true((byUrl(late.url)?.failed ?? 0) >= 1)
  t.regex(byUrl(late.url)?.reason ?? '', /deadline/)
  t.true(wrong.state.audits >= 1 && late.state.audits >= 1)
  const peers = (await json(owner, ['peers'])).peers as PeerView[]
  t.like(peerAt(peers, s1.peerUrl), { score: 1, consecutiveFailures: 0 })
  t.like(peerAt(peers, wrong.url), { score: 0.75, consecutiveFailures: 1 })
  t.like(peerAt(peers, late.url), { score: 0.75, consecutiveFailures: 1 })
  const status = await json(owner, ['status'])
  // The packs audited are degraded; only the catalog the repair attempt published has 3 copies.
  t.true(status.shares[0].degraded >= 1)
  t.is(status.shares[0].healthy + status.shares[0].degraded, status.shares[0].packs)
  t.is(status.shares[0].lost, 0)
})
