import { mkdir, readFile, stat, chmod } from 'node:fs/promises'
import { join } from 'node:path'
import type { DataDir } from '../../core/ports/data-dir.js'
import { alreadyInitialized, inputInvalid, ioFailed } from '../../core/errors.js'
import { isNotFound, writeFileAtomic } from './fs-util.js'

const SAFE_NAME = /^[a-z0-9][a-z0-9._-]*$/

/** DataDir on a local folder, created with mode 0700. */
export class FsDataDir implements DataDir {
  constructor(readonly path: string) {}

  static async open(path: string): Promise<FsDataDir> {
    try {
      await mkdir(path, { recursive: true, mode: 0o700 })
      if (!(await stat(path)).isDirectory()) throw inputInvalid(`${path} is not a folder`)
      await chmod(path, 0o700)
    } catch (err) {
      if (err instanceof Error && err.name === 'BackupError') throw err
      throw ioFailed(`opening data folder ${path}`, err)
    }
    return new FsDataDir(path)
  }

  resolve(name: string): string {
    if (!SAFE_NAME.test(name)) throw inputInvalid(`"${name}" is not a data file name`)
    return join(this.path, name)
  }

  async readText(name: string): Promise<string | null> {
    try {
      return await readFile(this.resolve(name), 'utf8')
    } catch (err) {
      if (isNotFound(err)) return null
      throw ioFailed(`reading ${name}`, err)
    }
  }

  async readBytes(name: string): Promise<Uint8Array | null> {
    try {
      const b = await readFile(this.resolve(name))
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
    } catch (err) {
      if (isNotFound(err)) return null
      throw ioFailed(`reading ${name}`, err)
    }
  }

  async writeAtomic(name: string, data: string | Uint8Array, mode: number): Promise<void> {
    try {
      await writeFileAtomic(this.resolve(name), data, { mode })
    } catch (err) {
      throw ioFailed(`writing ${name}`, err)
    }
  }

  async writeNew(name: string, data: string | Uint8Array, mode: number): Promise<void> {
    if ((await this.readText(name)) !== null) throw alreadyInitialized(this.resolve(name))
    await this.writeAtomic(name, data, mode)
  }
}
