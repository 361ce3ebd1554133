import { chmod, lstat, mkdir, rename, rm, symlink, lutimes, utimes, type FileHandle } from 'node:fs/promises'
import { close, constants, fchmod, futimes, open, write } from 'node:fs'
import { promisify } from 'node:util'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { RestoreFileWriter, RestoreTarget } from '../../core/ports/restore-target.js'
import { ioFailed, pathUnsafe } from '../../core/errors.js'
import { isNotFound, openDirect } from './fs-util.js'

/** Strips setuid and setgid: a restore never creates files that run with another user's rights. */
const SAFE_MODE = 0o1777

const openFd = promisify(open)
const writeFd = promisify(write)
const closeFd = promisify(close)
const fchmodFd = promisify(fchmod)
const futimesFd = promisify(futimes)

/**
 * Sets a finished file's mode and times, closes `fd` (in every case) and renames the file, in one
 * trip to the I/O threads: the native ingest module's finishFile. Rejects with an errno-coded Error.
 */
export type FinishFile = (fd: number, mode: number, mtimeMs: number, from: string, to: string) => Promise<void>

/**
 * Writes `bytes` at `offset`: the whole aligned blocks through `directFd` (O_DIRECT, or -1 for
 * none), the rest through `fd`; resolves with the bytes that went direct. The native ingest
 * module's writeAt.
 */
export type WriteAt = (fd: number, directFd: number, offset: number, bytes: Uint8Array) => Promise<number>

/**
 * Creates `from` (exclusive, not through a symlink), writes `bytes`, sets mode and times, closes
 * and renames it to `to`, in one trip to the I/O threads; on failure `from` is gone again. Plain
 * bytes are copied before it returns. The native ingest module's writeFile.
 */
export type WriteFile = (from: string, to: string, bytes: Uint8Array, mode: number, mtimeMs: number) => Promise<void>

/** Files at least this big are written past the page cache when a WriteAt is given. */
export const DIRECT_RESTORE_MIN_BYTES = 1 << 20

export interface FsRestoreTargetOptions {
  /** Finishes each file in one step instead of four (many small files restore much faster). */
  finishFile?: FinishFile
  /**
   * Writes large files mostly with direct I/O: a big restore then neither evicts the NAS's cached
   * files nor costs the kernel a copy of every byte.
   */
  writeAt?: WriteAt
  /** Writes each small file (under DIRECT_RESTORE_MIN_BYTES) whole, in one step instead of three. */
  writeFile?: WriteFile
}

/** RestoreTarget over a local folder, refusing to follow any symlink below its root. */
export class FsRestoreTarget implements RestoreTarget {
  /** Folders already checked (or made) in this restore. */
  readonly #checked = new Set<string>([''])

  private constructor(
    readonly root: string,
    private readonly opts: FsRestoreTargetOptions,
  ) {}

  static async open(root: string, opts: FsRestoreTargetOptions = {}): Promise<FsRestoreTarget> {
    try {
      await mkdir(root, { recursive: true })
      const st = await lstat(root)
      if (!st.isDirectory()) throw pathUnsafe(root, 'the restore target is not a folder')
    } catch (err) {
      if (err instanceof Error && err.name === 'BackupError') throw err
      throw ioFailed(`creating the restore target ${root}`, err)
    }
    return new FsRestoreTarget(root, opts)
  }

  #abs(parts: readonly string[]): string {
    return join(this.root, ...parts)
  }

  /** The temporary name a file is written under, beside its final name. */
  #temporary(parts: readonly string[]): string {
    return join(this.#abs(parts.slice(0, -1)), `.${parts[parts.length - 1]?.slice(0, 180)}.quloud-${randomBytes(6).toString('hex')}`)
  }

  /** Makes (or checks) every folder of `parts`, top down; a symlink or file in the way is PATH_UNSAFE. */
  async makeDir(parts: readonly string[]): Promise<void> {
    for (let i = 1; i <= parts.length; i++) {
      const key = parts.slice(0, i).join('/')
      if (this.#checked.has(key)) continue
      const abs = this.#abs(parts.slice(0, i))
      try {
        await mkdir(abs)
      } catch (err) {
        if ((err as { code?: string }).code !== 'EEXIST') throw ioFailed(`creating ${key}`, err)
      }
      const st = await lstat(abs).catch((err) => {
        throw ioFailed(`checking ${key}`, err)
      })
      if (st.isSymbolicLink()) throw pathUnsafe(key, 'a folder on the way is a symbolic link in the target')
      if (!st.isDirectory()) throw pathUnsafe(key, 'a folder on the way is a file in the target')
      this.#checked.add(key)
    }
  }

  get wholeFileMaxBytes(): number {
    return this.opts.writeFile ? DIRECT_RESTORE_MIN_BYTES - 1 : 0
  }

  /**
   * The bytes are taken before this returns: copied by the native call made at once when the
   * folder is already checked (a restore makes its folders first), else copied here first.
   */
  writeFile(parts: readonly string[], bytes: Uint8Array, mode: number, mtimeMs: number): Promise<void> {
    const write = this.opts.writeFile
    if (!write || bytes.length > this.wholeFileMaxBytes) return this.#writeInSteps(parts, bytes.slice(), mode, mtimeMs)
    // Shared memory would be read in place by the native call, later: copied too.
    if (!(bytes.buffer instanceof ArrayBuffer)) bytes = bytes.slice()
    const whole = (b: Uint8Array) =>
      write(this.#temporary(parts), this.#abs(parts), b, mode & SAFE_MODE, mtimeMs).catch((err: unknown) => {
        throw ioFailed(`writing ${parts.join('/')}`, err)
      })
    const folder = parts.slice(0, -1)
    if (this.#checked.has(folder.join('/'))) return whole(bytes)
    const own = bytes.slice()
    return this.makeDir(folder).then(() => whole(own))
  }

  async #writeInSteps(parts: readonly string[], bytes: Uint8Array, mode: number, mtimeMs: number): Promise<void> {
    const w = await this.createFile(parts, bytes.length)
    try {
      await w.write(0, bytes)
    } catch (err) {
      await w.abort()
      throw err
    }
    await w.commit(bytes.length, mode, mtimeMs)
  }

  async createFile(parts: readonly string[], sizeBytes?: number): Promise<RestoreFileWriter> {
    await this.makeDir(parts.slice(0, -1))
    const final = this.#abs(parts)
    const tmp = this.#temporary(parts)
    // A plain descriptor, not a FileHandle: finishFile closes it, and a FileHandle would again.
    let fd: number
    try {
      fd = await openFd(tmp, 'wx', 0o600)
    } catch (err) {
      throw ioFailed(`creating ${parts.join('/')}`, err)
    }
    const { finishFile: finish, writeAt } = this.opts
    // A second descriptor of the file with O_DIRECT (none where the file system refuses it).
    let direct: FileHandle | null = null
    if (writeAt && (sizeBytes ?? 0) >= DIRECT_RESTORE_MIN_BYTES) {
      try {
        direct = await openDirect(tmp, constants.O_WRONLY)
      } catch (err) {
        await closeFd(fd).catch(() => {})
        await rm(tmp, { force: true })
        throw ioFailed(`creating ${parts.join('/')}`, err)
      }
    }
    let written = 0
    let done = false
    let closed = false
    const closeDirect = async () => {
      const d = direct
      direct = null
      await d?.close()
    }
    const discard = async () => {
      await closeDirect().catch(() => {})
      if (!closed) await closeFd(fd).catch(() => {})
      closed = true
      await rm(tmp, { force: true })
    }
    return {
      async write(offset, bytes) {
        try {
          if (writeAt && direct) await writeAt(fd, direct.fd, offset, bytes)
          else {
            let at = 0
            while (at < bytes.length) {
              const { bytesWritten } = await writeFd(fd, bytes, at, bytes.length - at, offset + at)
              at += bytesWritten
            }
          }
        } catch (err) {
          // A full disk, a quota, an I/O error: IO_FAILED naming the file (the caller aborts it).
          throw ioFailed(`writing ${parts.join('/')}`, err)
        }
        written += bytes.length
      },
      async commit(sizeBytes, mode, mtimeMs) {
        done = true
        try {
          // A new file written at disjoint places that add up to its size is exactly that long.
          if (written !== sizeBytes) throw new Error(`wrote ${written} of ${sizeBytes} bytes`)
          await closeDirect()
          if (finish) {
            const finished = finish(fd, mode & SAFE_MODE, mtimeMs, tmp, final)
            closed = true // the descriptor is finishFile's from here, closed whatever happens
            await finished
          } else {
            await fchmodFd(fd, mode & SAFE_MODE)
            await futimesFd(fd, mtimeMs / 1000, mtimeMs / 1000)
            closed = true
            await closeFd(fd)
            await rename(tmp, final)
          }
        } catch (err) {
          await discard()
          throw ioFailed(`writing ${parts.join('/')}`, err)
        }
      },
      async abort() {
        if (done) return
        done = true
        await discard()
      },
    }
  }

  async symlink(parts: readonly string[], target: string, mtimeMs: number): Promise<void> {
    await this.makeDir(parts.slice(0, -1))
    const abs = this.#abs(parts)
    try {
      const st = await lstat(abs).catch((err) => (isNotFound(err) ? null : Promise.reject(err)))
      if (st?.isDirectory()) throw pathUnsafe(parts.join('/'), 'a folder is in the way of a symbolic link')
      if (st) await rm(abs, { force: true })
      await symlink(target, abs)
      await lutimes(abs, mtimeMs / 1000, mtimeMs / 1000)
    } catch (err) {
      if (err instanceof Error && err.name === 'BackupError') throw err
      throw ioFailed(`creating the link ${parts.join('/')}`, err)
    }
  }

  async setDirMeta(parts: readonly string[], mode: number, mtimeMs: number): Promise<void> {
    await this.makeDir(parts)
    const abs = this.#abs(parts)
    try {
      await chmod(abs, mode & SAFE_MODE)
      await utimes(abs, mtimeMs / 1000, mtimeMs / 1000)
    } catch (err) {
      throw ioFailed(`setting the times of ${parts.join('/') || '/'}`, err)
    }
  }
}
