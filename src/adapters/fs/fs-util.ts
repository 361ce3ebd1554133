import { constants } from 'node:fs'
import { open, rename, rm, mkdir, type FileHandle } from 'node:fs/promises'
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
 * Writes all of `bytes` at offset 0 of a file opened with O_DIRECT, whole aligned blocks past the
 * page cache and the rest through it; resolves with the bytes that went direct. The native ingest
 * module's writeAll has this contract.
 */
export type DirectWrite = (fd: number, bytes: Uint8Array) => Promise<number>

export interface WriteAtomicOptions {
  mode?: number
  /** Where the temp file goes (same file system); default: beside the file. */
  tmpDir?: string
  /** Called once the bytes are no longer read (before the fsync). */
  onWritten?: () => void
  /** Used for bytes (not strings) when given and the file system takes O_DIRECT. */
  direct?: DirectWrite
}

/** `path` opened with `flags` and O_DIRECT, or null where there is no O_DIRECT or the file system refuses it at open (EINVAL). */
export async function openDirect(path: string, flags: number, mode?: number): Promise<FileHandle | null> {
  if (constants.O_DIRECT === undefined) return null
  try {
    return await open(path, flags | constants.O_DIRECT, mode)
  } catch (err) {
    if ((err as { code?: unknown }).code === 'EINVAL') return null
    throw err
  }
}

/** A new file for writing, with O_DIRECT when asked and the file system takes it. */
async function openNew(path: string, mode: number, direct: boolean): Promise<{ fh: FileHandle; direct: boolean }> {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL
  const fh = direct ? await openDirect(path, flags, mode) : null
  return fh ? { fh, direct: true } : { fh: await open(path, flags, mode), direct: false }
}

/**
 * Writes a file atomically with the given mode: temp file (beside it, or in `tmpDir` on the same
 * file system), fsync, rename, fsync of the folder. With `direct`, the bytes bypass the page cache
 * where the file system allows it: large objects written once and seldom read soon (packs) then
 * neither evict the NAS's cached files nor cost the kernel a copy.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, { mode = 0o600, tmpDir, onWritten, direct }: WriteAtomicOptions = {}): Promise<void> {
  const dir = dirname(path)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const tmp = join(tmpDir ?? dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
  try {
    const opened = await openNew(tmp, mode, direct !== undefined && typeof data !== 'string')
    const fh = opened.fh
    try {
      if (opened.direct && direct && typeof data !== 'string') await direct(fh.fd, data)
      else await fh.writeFile(data)
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
