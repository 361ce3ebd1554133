import test from 'ava'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { tempDir } from './helpers/index.js'
import { CIRCUIT_CHECKSUMS, CIRCUIT_R1CS, CIRCUIT_WASM, readCheckedArtifact } from '../src/adapters/snarkjs/circuit-artifacts.js'

test('recompiling the circuit gives the committed r1cs and wasm, byte for byte', async (t) => {
  const out = await tempDir(t)
  const script = fileURLToPath(new URL('../scripts/build-circuits.mjs', import.meta.url))
  execFileSync(process.execPath, [script, '--out', out], { stdio: 'ignore' })
  t.is(readFileSync(join(out, 'SHA256SUMS'), 'utf8'), readFileSync(CIRCUIT_CHECKSUMS, 'utf8'))
})

test('the committed artifacts match their checksums', (t) => {
  t.true(readCheckedArtifact(CIRCUIT_R1CS).length > 0)
  t.true(readCheckedArtifact(CIRCUIT_WASM).length > 0)
})
