import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))

function newestSource(dir: string): number {
  let newest = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : statSync(p).mtimeMs)
  }
  return newest
}

/**
 * The compiled node (dist/) that the NAS packages run, built once when missing or older than
 * src/. Test processes run in parallel, so a lock folder keeps them from compiling at once.
 */
export async function ensureBuilt(): Promise<void> {
  const lock = join(ROOT, 'dist.build-lock')
  const deadline = Date.now() + 5 * 60_000
  for (;;) {
    try {
      mkdirSync(lock)
      break
    } catch {
      if (Date.now() > deadline) throw new Error('waited too long for another test to build dist/')
      // A lock older than any build is left over from a killed run.
      if (Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 120_000) rmSync(lock, { recursive: true, force: true })
      await new Promise((r) => setTimeout(r, 250))
    }
  }
  try {
    const bin = join(ROOT, 'dist/cli/bin.js')
    if (!existsSync(bin) || statSync(bin).mtimeMs < newestSource(join(ROOT, 'src'))) execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] })
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
  })
}

/** Polls http://127.0.0.1:port/path until it answers 200 or the time runs out. */
export async function waitForHttp(port: number, path: string, ms = 20_000): Promise<number> {
  const deadline = Date.now() + ms
  let last = 0
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}${path}`)
      last = res.status
      await res.arrayBuffer()
      if (res.status === 200) return 200
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  return last
}
