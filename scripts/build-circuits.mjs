// npm run circuits:build — compiles circuits/ownership.circom with the npm circom2 compiler
// (WASM build of circom) and circomlib, and writes circuits/build/{ownership.r1cs,
// ownership.wasm, SHA256SUMS}. Compilation is deterministic, so the committed files can be
// checked by recompiling (test/circuits.test.ts). With --out DIR it writes there instead.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, copyFileSync, readFileSync, writeFileSync, rmSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const outArg = process.argv.indexOf('--out')
const out = outArg > 0 ? process.argv[outArg + 1] : join(root, 'circuits', 'build')
const work = mkdtempSync(join(tmpdir(), 'quloud-circom-'))
try {
  execFileSync(process.execPath, [join(root, 'node_modules', 'circom2', 'cli.js'), join(root, 'circuits', 'ownership.circom'), '--r1cs', '--wasm', '--O2', '-o', work], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] })
  mkdirSync(out, { recursive: true })
  copyFileSync(join(work, 'ownership.r1cs'), join(out, 'ownership.r1cs'))
  copyFileSync(join(work, 'ownership_js', 'ownership.wasm'), join(out, 'ownership.wasm'))
  const sums = ['ownership.r1cs', 'ownership.wasm'].map((f) => `${createHash('sha256').update(readFileSync(join(out, f))).digest('hex')}  ${f}`)
  writeFileSync(join(out, 'SHA256SUMS'), sums.join('\n') + '\n')
  console.log(sums.join('\n'))
} finally {
  rmSync(work, { recursive: true, force: true })
}
