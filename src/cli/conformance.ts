import { resolve } from 'node:path'
import { composeConformance } from '../app/compose.js'
import { runConformance } from '../app/conformance.js'
import { fromHex } from '../shared/bytes.js'
import { inputInvalid } from '../core/errors.js'
import { EXIT_CHECKS_FAILED } from './exit-codes.js'

export interface ConformanceOptions {
  keysFrom?: string
  cert?: string
  json?: boolean
}

/** quloud conformance URL: checks any node against docs/PROTOCOL.md; 0 only when all checks pass. */
export async function runConformanceCommand(url: string, opts: ConformanceOptions): Promise<number> {
  const pinned = opts.cert !== undefined ? fromHex(opts.cert.toLowerCase()) : undefined
  if (opts.cert !== undefined && pinned?.length !== 32) throw inputInvalid('--cert takes the SHA-256 of the node\'s certificate, 64 hex digits')
  const say = (line: string) => {
    if (!opts.json) process.stdout.write(`${line}\n`)
  }
  if (!opts.keysFrom) process.stderr.write('No --keys-from folder: making throwaway proof keys first (a few minutes).\n')
  const composed = await composeConformance(url, {
    ...(opts.keysFrom ? { keysFrom: resolve(opts.keysFrom) } : {}),
    ...(pinned ? { pinnedCertSha256: pinned } : {}),
    onSetupProgress: (p) => process.stderr.write(`  setup ${p.step}/${p.steps}: ${p.label}\n`),
  })
  try {
    say(`Checking ${url} against the Quloud protocol v1 as a throwaway node:`)
    const results = await runConformance(composed.deps, (c) => say(`${c.ok ? '✓' : '✗'} ${c.name}${c.ok ? '' : `\n    ${c.detail ?? ''}`}`))
    const failed = results.filter((c) => !c.ok).length
    if (opts.json) process.stdout.write(`${JSON.stringify({ url, passed: results.length - failed, failed, checks: results })}\n`)
    else say(failed === 0 ? `All ${results.length} checks passed.` : `${failed} of ${results.length} checks failed.`)
    return failed === 0 ? 0 : EXIT_CHECKS_FAILED
  } finally {
    await composed.close()
  }
}
