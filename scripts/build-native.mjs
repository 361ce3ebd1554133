// npm install runs this: compiles Quloud's native modules with node-gyp:
//   native/bn254  → bn254_msm.node      the prover's BN254 multi-exponentiation
//   native/ingest → quloud_ingest.node  the backup's chunker, Merkle tree and pack copies
// Without a C compiler a build fails softly: the node still works, with snarkjs's WASM prover and
// TypeScript ingest loops instead (each about half as fast). QULOUD_REQUIRE_NATIVE=1 makes a failed
// build an error (CI sets it).
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const MODULES = [
  { dir: 'bn254', what: 'native BN254 prover module', fallback: 'proofs will use WASM, about twice as slow' },
  { dir: 'ingest', what: 'native ingest module', fallback: 'backups will chunk and hash in TypeScript, about half as fast' },
]
const gyp = [process.env.npm_config_node_gyp, join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js')].find((p) => p && existsSync(p))
// Headers: npm's nodedir setting, else this node's own install prefix (no download needed).
const prefix = join(dirname(process.execPath), '..')
const nodedir = process.env.npm_config_nodedir || (existsSync(join(prefix, 'include/node/node_api.h')) ? prefix : undefined)
let failed = false
for (const m of MODULES) {
  try {
    if (!gyp) throw new Error('node-gyp not found')
    execFileSync(process.execPath, [gyp, 'rebuild', '--directory', join(root, 'native', m.dir), ...(nodedir ? [`--nodedir=${nodedir}`] : [])], { stdio: ['ignore', 'ignore', 'pipe'] })
    console.log(`quloud: built the ${m.what}`)
  } catch (err) {
    const detail = String(err?.stderr ?? err?.message ?? err).trim().split('\n').slice(-3).join(' | ')
    if (process.env.QULOUD_REQUIRE_NATIVE === '1') {
      console.error(`quloud: the ${m.what} did not build: ${detail}`)
      failed = true
    } else {
      console.warn(`quloud: the ${m.what} did not build (${m.fallback}): ${detail}`)
    }
  }
}
if (failed) process.exit(1)
