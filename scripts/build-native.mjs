// npm install runs this: compiles native/bn254 (the prover's BN254 multi-exponentiation) with
// node-gyp into native/bn254/build/Release/bn254_msm.node. Without a C compiler the build fails
// softly: the node still works, and proves with snarkjs's WASM code instead (slower).
// QULOUD_REQUIRE_NATIVE=1 makes a failed build an error (CI sets it).
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const dir = join(root, 'native', 'bn254')
const gyp = [process.env.npm_config_node_gyp, join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js')].find((p) => p && existsSync(p))
try {
  if (!gyp) throw new Error('node-gyp not found')
  // Headers: npm's nodedir setting, else this node's own install prefix (no download needed).
  const prefix = join(dirname(process.execPath), '..')
  const nodedir = process.env.npm_config_nodedir || (existsSync(join(prefix, 'include/node/node_api.h')) ? prefix : undefined)
  execFileSync(process.execPath, [gyp, 'rebuild', '--directory', dir, ...(nodedir ? [`--nodedir=${nodedir}`] : [])], { stdio: ['ignore', 'ignore', 'pipe'] })
  console.log('quloud: built the native BN254 prover module')
} catch (err) {
  const detail = String(err?.stderr ?? err?.message ?? err).trim().split('\n').slice(-3).join(' | ')
  if (process.env.QULOUD_REQUIRE_NATIVE === '1') {
    console.error(`quloud: the native BN254 prover module did not build: ${detail}`)
    process.exit(1)
  }
  console.warn(`quloud: the native BN254 prover module did not build (proofs will use WASM, about twice as slow): ${detail}`)
}
