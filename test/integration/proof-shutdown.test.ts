import test from 'ava'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { ownerSetup } from '../helpers/zk.js'

test('after proving and verifying, closing the prover and snarkjs lets the process exit by itself', async (t) => {
  await ownerSetup('a') // make sure the cached setup exists before timing the child
  const script = fileURLToPath(new URL('../fixtures/scripts/prove-and-exit.ts', import.meta.url))
  const child = spawn(process.execPath, ['--import=tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000)
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  clearTimeout(timer)
  t.is(code, 0, 'exited on its own, not killed')
  t.regex(out, /verified true/)
})
