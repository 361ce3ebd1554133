import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { ExecutionContext } from 'ava'
import { runQuloud, startQuloud, type RunResult } from './cli.js'
import { freePort } from './build.js'
import { ownerSetup } from './zk.js'
import { tempDir } from './index.js'

export const PASSPHRASE = 'a long enough passphrase'

export interface NodeProc {
  data: string
  peerUrl: string
  peerPort: number
  child: import('node:child_process').ChildProcess
  exited: Promise<number | null>
  output: () => { stdout: string; stderr: string }
  /** Runs `quloud ARGS --data <this node>` (a CLI client of the running node). */
  cli: (args: string[]) => Promise<RunResult>
  stop: (signal?: NodeJS.Signals) => Promise<number | null>
}

/**
 * Starts `quloud start` in its own process; the peer port is fixed so a restarted node keeps its
 * address. A port picked here was free a moment ago, but a test running beside this one may take
 * it meanwhile (as the source port of a connection): the node then cannot listen, and another
 * port is picked, up to three times.
 */
export async function startNode(t: ExecutionContext, data: string, opts: { peerPort?: number; unlock?: string; env?: Record<string, string>; args?: string[]; host?: string; prefix?: string[] } = {}): Promise<NodeProc> {
  if (opts.peerPort !== undefined) return startNodeAt(t, data, opts.peerPort, opts)
  for (let tries = 1; ; tries++) {
    try {
      return await startNodeAt(t, data, await freePort(), opts)
    } catch (err) {
      if (tries >= 3 || !/IO_FAILED: listening on \S+ failed/.test(String((err as Error).message))) throw err
    }
  }
}

async function startNodeAt(t: ExecutionContext, data: string, peerPort: number, opts: { unlock?: string; env?: Record<string, string>; args?: string[]; host?: string; prefix?: string[] }): Promise<NodeProc> {
  const host = opts.host ?? '127.0.0.1'
  const args = ['start', '--data', data, '--web-listen', '127.0.0.1:0', '--peer-listen', `${host}:${peerPort}`, ...(opts.args ?? [])]
  if (opts.unlock) args.push('--passphrase-file', opts.unlock)
  const prefix = opts.prefix ? { prefix: opts.prefix } : {}
  const node = await startQuloud(t, args, { env: { QULOUD_LOG_LEVEL: 'warn', QULOUD_CATCH_UP_SECONDS: '2', QULOUD_WATCH_DEBOUNCE_SECONDS: '1', ...opts.env }, ...prefix })
  return {
    data,
    peerPort,
    peerUrl: `https://${host}:${peerPort}`,
    ...node,
    cli: (a) => runQuloud([...a, '--data', data], prefix),
    stop: async (signal = 'SIGTERM') => {
      if (node.child.exitCode === null) node.child.kill(signal)
      return node.exited
    },
  }
}

/**
 * A new owner: `quloud init` (proof setup deferred), then the owner's own cached test setup put
 * in place of `quloud proof-setup` (minutes each time otherwise). Returns the recovery key.
 */
export async function initOwner(t: ExecutionContext, setup: 'a' | 'b' = 'a'): Promise<{ data: string; pw: string; recoveryKey: string }> {
  const dir = await tempDir(t)
  const data = join(dir, 'data')
  const pw = join(dir, 'pw')
  await writeFile(pw, `${PASSPHRASE}\n`)
  const init = await runQuloud(['init', '--data', data, '--passphrase-file', pw, '--defer-proof-setup', '--json'])
  if (init.code !== 0) throw new Error(`init failed: ${init.stderr}`)
  const keys = await ownerSetup(setup)
  await writeFile(join(data, 'proving-key.zkey'), keys.provingKey, { mode: 0o600 })
  await writeFile(join(data, 'verification-key.json'), JSON.stringify(keys.verificationKey) + '\n', { mode: 0o600 })
  return { data, pw, recoveryKey: JSON.parse(init.stdout).recoveryKey as string }
}

export async function storageNodes(t: ExecutionContext, n: number): Promise<NodeProc[]> {
  return Promise.all(Array.from({ length: n }, async () => startNode(t, join(await tempDir(t), 'data'))))
}

/** Polls `quloud status --json` until `ok` holds for it. */
export async function waitForStatus(node: NodeProc, ok: (s: { shares: Array<Record<string, unknown>> }) => boolean, ms = 60_000): Promise<{ shares: Array<Record<string, unknown>> }> {
  const deadline = Date.now() + ms
  for (;;) {
    const r = await node.cli(['status', '--json'])
    const s = r.code === 0 ? JSON.parse(r.stdout) : null
    if (s && ok(s)) return s
    if (Date.now() > deadline) throw new Error(`status never matched: ${r.stdout}${r.stderr}`)
    await new Promise((res) => setTimeout(res, 500))
  }
}
