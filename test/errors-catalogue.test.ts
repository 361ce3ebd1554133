import test from 'ava'
import { readFileSync } from 'node:fs'
import { ERROR_CODES } from '../src/core/errors.js'
import { EXIT_CODES, EXIT_BUG, EXIT_OK } from '../src/cli/exit-codes.js'
import { HTTP_STATUS } from '../src/web/http-status.js'

const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8')

test('every error code is documented in docs/errors.md with its exit code and HTTP status', (t) => {
  for (const code of ERROR_CODES) {
    const row = doc.split('\n').find((l) => l.startsWith(`| \`${code}\``))
    t.truthy(row, `${code} is missing from docs/errors.md`)
    const cells = row?.split('|').map((c) => c.trim()) ?? []
    t.is(cells[2], String(EXIT_CODES[code]), `${code} exit code`)
    t.is(cells[3], String(HTTP_STATUS[code]), `${code} HTTP status`)
  }
  const documented = [...doc.matchAll(/^\| `([A-Z_]+)`/gm)].map((m) => m[1])
  t.deepEqual(documented.filter((c) => !ERROR_CODES.includes(c as never)), [], 'no stale codes in the document')
})

test('exit codes never collide with success or the bug code', (t) => {
  for (const code of ERROR_CODES) t.true(![EXIT_OK, EXIT_BUG].includes(EXIT_CODES[code]), code)
})
