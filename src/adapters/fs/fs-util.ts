import { open, rename, rm, mkdir } from 'node:fs/promises'
import { dirname, basename, join } from 'node:path'
import { randomBytes } from 'node:crypto'

export { kindOf } from './kind-of.mjs'

export function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ENOENT'
}

/** fsync a directory so a rename inside it survives power loss. */
export async function fsyncDir(path: string): Promise<void> {
  const fh = await open(path, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/**
 * Writes a file atomically with the given mode: temp file (beside it, or in `tmpDir` on the same
 * file system), fsync, rename, fsync of the folder.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, { mode = 0o600, tmpDir, onWritten }: { mode?: number; tmpDir?: string; onWritten?: () => void } = {}): Promise<void> {
  const dir = dirname(path)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const tmp = join(tmpDir ?? dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
  try {
    const fh = await open(tmp, 'wx', mode)
    try {
      await fh.writeFile(data)
      // The bytes are in the kernel's hands: the caller may reuse `data` while they are synced.
      onWritten?.()
      await fh.chmod(mode)
      await fh.sync()
    } finally {
      await fh.close()
    }
    await rename(tmp, path)
    await fsyncDir(dir)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
}
