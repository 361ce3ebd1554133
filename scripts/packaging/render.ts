/** Renders every NAS packaging file from the manifest, writes them, or lists the ones that drifted. */
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { isExecutable, type Files } from './render-common.js'
import { ROOT, type Manifest } from './manifest.js'
import { renderContainer } from './render-container.js'
import { renderTruenas } from './render-truenas.js'
import { renderUnraid } from './render-unraid.js'
import { renderSynology } from './render-synology.js'

export function renderAll(m: Manifest): Files {
  const all: Files = new Map()
  for (const part of [renderContainer(m), renderTruenas(m), renderUnraid(m), renderSynology(m)]) {
    for (const [path, body] of part) {
      if (all.has(path)) throw new Error(`two renderers write ${path}`)
      all.set(path, body)
    }
  }
  return all
}

const bytes = (body: string | Uint8Array) => (typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body))

export function writeAll(files: Files, root = ROOT): void {
  for (const [path, body] of files) {
    const full = join(root, path)
    mkdirSync(dirname(full), { recursive: true })
    writeFileSync(full, bytes(body))
    chmodSync(full, isExecutable(path) ? 0o755 : 0o644)
  }
}

/** Paths whose committed copy differs from what the manifest renders (content or exec bit). */
export function drifted(files: Files, root = ROOT): string[] {
  const out: string[] = []
  for (const [path, body] of files) {
    const full = join(root, path)
    if (!existsSync(full)) {
      out.push(`${path} (missing)`)
      continue
    }
    if (!readFileSync(full).equals(bytes(body))) out.push(`${path} (content)`)
    else if (((statSync(full).mode & 0o111) !== 0) !== isExecutable(path)) out.push(`${path} (executable bit)`)
  }
  return out
}
