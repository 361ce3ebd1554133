import { createHash } from 'node:crypto'
import { mkdir, writeFile, readdir, lstat, readFile } from 'node:fs/promises'
import { join } from 'node:path'

/** A declared tree: 'dir/' keys (or object values) are folders, strings or bytes are files. */
export type Tree = { [path: string]: string | Uint8Array | Tree }

export async function writeTree(root: string, tree: Tree): Promise<void> {
  await mkdir(root, { recursive: true })
  for (const [name, value] of Object.entries(tree)) {
    const path = join(root, name.replace(/\/$/, ''))
    if (typeof value === 'string' || value instanceof Uint8Array) {
      await mkdir(join(path, '..'), { recursive: true })
      await writeFile(path, value)
    } else {
      await writeTree(path, value)
    }
  }
}

/** Every regular file below root as relative path → contents (for comparisons). */
export async function readTree(root: string, rel = ''): Promise<Record<string, Buffer>> {
  const out: Record<string, Buffer> = {}
  for (const name of (await readdir(join(root, rel))).sort()) {
    const path = rel ? `${rel}/${name}` : name
    const st = await lstat(join(root, path))
    if (st.isDirectory()) Object.assign(out, await readTree(root, path))
    else if (st.isFile()) out[path] = await readFile(join(root, path))
  }
  return out
}

/** path → SHA-256 hex: compare trees with this, since AVA's deepEqual is slow on large buffers. */
export function digestTree(files: Record<string, Uint8Array>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(files)) out[k] = createHash('sha256').update(v).digest('hex')
  return out
}
