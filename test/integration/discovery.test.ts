import test from 'ava'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { tempDir } from '../helpers/index.js'
import { freePort } from '../helpers/build.js'
import { startNode, type NodeProc } from '../helpers/nodes.js'

interface Discovered { nodeId: string; url: string; source: string; verifiedAtMs: number | null }

async function discovered(node: NodeProc): Promise<Discovered[]> {
  const r = await node.cli(['peers', '--json'])
  if (r.code !== 0) throw new Error(`quloud peers exited ${r.code}: ${r.stderr}`)
  return JSON.parse(r.stdout).discovered as Discovered[]
}

async function waitFor<T>(what: string, fn: () => Promise<T | null>, ms: number): Promise<{ value: T; seconds: number }> {
  const started = Date.now()
  for (;;) {
    const v = await fn()
    if (v !== null) return { value: v, seconds: (Date.now() - started) / 1000 }
    if (Date.now() - started > ms) throw new Error(`${what} did not happen within ${ms / 1000} s`)
    await new Promise((r) => setTimeout(r, 500))
  }
}

const nodeIdOf = async (node: NodeProc) => JSON.parse((await node.cli(['status', '--json'])).stdout).nodeId as string

test.serial('peer exchange: five nodes, each given one bootstrap address, all learn of each other', async (t) => {
  const ports = await Promise.all(Array.from({ length: 5 }, () => freePort()))
  const nodes = await Promise.all(
    ports.map(async (port, i) => startNode(t, join(await tempDir(t), 'data'), {
      peerPort: port,
      // A ring: node i knows only node i+1 at first.
      args: ['--peer', `https://127.0.0.1:${ports[(i + 1) % ports.length]}`],
      env: { QULOUD_PEER_EXCHANGE_SECONDS: '1' },
    })),
  )
  const ids = await Promise.all(nodes.map(nodeIdOf))
  const { seconds } = await waitFor('every node knowing the four others', async () => {
    const lists = await Promise.all(nodes.map(discovered))
    const complete = lists.every((l, i) => {
      const others = new Set(ids.filter((_, j) => j !== i))
      return l.length === 4 && l.every((d) => others.has(d.nodeId))
    })
    return complete ? lists : null
  }, 60_000)
  t.log(`all five nodes knew each other after ${seconds.toFixed(1)} s`)
  const first = await discovered(nodes[0] as NodeProc)
  t.is(first.find((d) => d.url === `https://127.0.0.1:${ports[1]}`)?.source, 'bootstrap')
  t.true(first.every((d) => d.url.startsWith('https://127.0.0.1:')))
})

/** Root and `ip netns` are needed for SSDP between namespaces; the reason when they are missing. */
function netnsMissing(): string | null {
  if (process.getuid?.() !== 0) return 'it needs root to create network namespaces'
  const probe = `qprobe${randomBytes(3).toString('hex')}`
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'ignore' })
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'ignore' })
    return null
  } catch {
    return 'this machine cannot create network namespaces (ip netns add failed)'
  }
}

const missing = netnsMissing()
if (missing) console.log(`SSDP discovery test skipped: ${missing}`)

;(missing ? test.serial.skip : test.serial)('SSDP discovery between two network namespaces joined by a veth pair', async (t) => {
  const tag = randomBytes(3).toString('hex')
  const ns = [`qa${tag}`, `qb${tag}`] as const
  const veth = [`va${tag}`, `vb${tag}`] as const
  const addr = ['10.231.77.1', '10.231.77.2'] as const
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' })
  t.teardown(() => {
    for (const n of ns) {
      try {
        ip('netns', 'del', n)
      } catch {
        // already gone
      }
    }
  })
  for (const n of ns) ip('netns', 'add', n)
  ip('link', 'add', veth[0], 'type', 'veth', 'peer', 'name', veth[1])
  for (const i of [0, 1] as const) {
    ip('link', 'set', veth[i], 'netns', ns[i])
    ip('-n', ns[i], 'addr', 'add', `${addr[i]}/24`, 'dev', veth[i])
    ip('-n', ns[i], 'link', 'set', veth[i], 'up')
    ip('-n', ns[i], 'link', 'set', 'lo', 'up')
    // Multicast leaves by the veth, never by any interface of the machine.
    ip('-n', ns[i], 'route', 'add', '224.0.0.0/4', 'dev', veth[i])
  }
  const nodes = await Promise.all(
    ([0, 1] as const).map(async (i) => startNode(t, join(await tempDir(t), 'data'), {
      host: addr[i],
      prefix: ['ip', 'netns', 'exec', ns[i]],
      args: ['--ssdp'],
    })),
  )
  const ids = await Promise.all(nodes.map(nodeIdOf))
  const { value, seconds } = await waitFor('both nodes finding each other over SSDP', async () => {
    const lists = await Promise.all(nodes.map(discovered))
    const found = lists.every((l, i) => l.some((d) => d.nodeId === ids[1 - i] && d.source === 'ssdp' && d.verifiedAtMs !== null))
    return found ? lists : null
  }, 60_000)
  t.log(`SSDP: both nodes found and verified each other after ${seconds.toFixed(1)} s`)
  t.is(value[0]?.find((d) => d.nodeId === ids[1])?.url, `https://${addr[1]}:${nodes[1]?.peerPort}`)
  t.is(value[1]?.find((d) => d.nodeId === ids[0])?.url, `https://${addr[0]}:${nodes[0]?.peerPort}`)
})
