import { createHash } from 'node:crypto'
import { mkdir, writeFile, readdir, lstat, readFile, readlink } from 'node:fs/promises'
import { createReadStream } from 'node:fs'
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

/**
 * Everything a restore must bring back, per entry below root: kind, permission bits, mtime (ms),
 * and the contents' SHA-256 or the link target. Folders' mtimes are left out (restoring files
 * into a folder changes it before its own time is set, and tests modify source folders).
 */
export async function describeTree(root: string, rel = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const name of (await readdir(join(root, rel))).sort()) {
    const path = rel ? `${rel}/${name}` : name
    const abs = join(root, path)
    const st = await lstat(abs)
    if (st.isDirectory()) {
      out[`${path}/`] = `dir ${(st.mode & 0o777).toString(8)}`
      Object.assign(out, await describeTree(root, path))
    } else if (st.isSymbolicLink()) {
      out[path] = `link -> ${await readlink(abs)}`
    } else if (st.isFile()) {
      const hash = createHash('sha256')
      for await (const piece of createReadStream(abs)) hash.update(piece as Buffer)
      out[path] = `file ${(st.mode & 0o777).toString(8)} ${Math.round(st.mtimeMs)} ${st.size} ${hash.digest('hex').slice(0, 16)}`
    }
  }
  return out
}
