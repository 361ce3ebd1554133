// Copies the non-TypeScript files the compiled code reads at run time (SQL migrations and
// schema, plain JavaScript modules such as the walk worker) from src/ to dist/, keeping their
// relative paths. The *-boot.mjs entries only serve runs from source.
import { cpSync, readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

const src = new URL('../src/', import.meta.url).pathname
const dist = new URL('../dist/', import.meta.url).pathname

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) walk(path)
    else if (name.endsWith('.sql') || (name.endsWith('.mjs') && !name.endsWith('-boot.mjs'))) cpSync(path, join(dist, relative(src, path)))
  }
}
walk(src)
