import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { ExecutionContext } from 'ava'

export const QULOUD_BIN = fileURLToPath(new URL('../../bin/quloud', import.meta.url))

export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `quloud ARGS` to completion as a separate process. */
export function runQuloud(args: string[], opts: { cwd?: string; env?: Record<string, string>; prefix?: string[] } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const [cmd, ...argv] = [...(opts.prefix ?? []), process.execPath, QULOUD_BIN, ...args] as [string, ...string[]]
    const child = spawn(cmd, argv, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** Starts a long-running `quloud start`; resolves once `ready` matches its output. */
export async function startQuloud(t: ExecutionContext, args: string[], opts: { cwd?: string; env?: Record<string, string>; ready?: RegExp; prefix?: string[] } = {}) {
  // A prefix such as `ip netns exec NS` execs the node in place, so the child is still the node.
  const [cmd, ...argv] = [...(opts.prefix ?? []), process.execPath, QULOUD_BIN, ...args] as [string, ...string[]]
  const child: ChildProcess = spawn(cmd, argv, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (d) => (stdout += d))
  child.stderr?.on('data', (d) => (stderr += d))
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  const ready = opts.ready ?? /Press Ctrl-C to stop/
  const deadline = Date.now() + 60_000
  while (!ready.test(stdout)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`quloud start did not come up:\n${stdout}\n${stderr}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  return { child, exited, output: () => ({ stdout, stderr }) }
}
