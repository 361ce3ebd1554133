/**
 * One owner ingest of a folder into a fresh spool and index, in its own process so its peak RSS
 * is its own. Usage: node --import=tsx bench/ingest-run.ts CORPUS WORKDIR. Prints one JSON line.
 */
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { composeIngest } from '../src/app/compose.js'
import { deriveShareKeys, deriveShareKey } from '../src/core/crypto/index.js'
import { asShareId } from '../src/core/ids.js'

const [corpus, work] = process.argv.slice(2)
if (!corpus || !work) {
  console.error('usage: ingest-run.ts CORPUS WORKDIR')
  process.exit(2)
}
const { sodium, ingest, source, ready, close } = await composeIngest({ indexPath: join(work, 'index.sqlite'), spoolDir: join(work, 'spool'), sourceDir: corpus })
const shareId = asShareId(sodium.randomBytes(16))
const keys = deriveShareKeys(sodium, deriveShareKey(sodium, sodium.randomBytes(32), shareId))
// Timed from a started node, as a backup runs in one: its helper threads have loaded already.
await ready()
const t0 = performance.now()
const stats = await ingest.ingest(shareId, keys, source)
const seconds = (performance.now() - t0) / 1000
await close()
console.log(JSON.stringify({ seconds, peakRssMb: process.resourceUsage().maxRSS / 1024, stats }))
