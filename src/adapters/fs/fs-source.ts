import { lstat, opendir, open, readlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { EntryKind, SourceEntry, SourceFs } from '../../core/ports/source-fs.js'
import { inputInvalid, ioFailed } from '../../core/errors.js'
import { isNotFound } from './fs-util.js'

/** Files up to this size are read in one call; larger ones stream in pieces of this size. */
const WHOLE_READ_BYTES = 4 * 1024 * 1024
const WALK_STAT_BATCH = 64

function kindOf(st: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }): EntryKind {
  if (st.isSymbolicLink()) return 'symlink'
  if (st.isFile()) return 'file'
  if (st.isDirectory()) return 'dir'
  return 'other'
}

/** SourceFs over a local folder. Never follows symlinks; paths are share-relative with '/'. */
export class FsSource implements SourceFs {
  constructor(readonly root: string) {}

  #abs(path: string): string {
    if (path.split('/').some((p) => p === '..' || p === '') && path !== '') throw inputInvalid('source path must be relative and normalised')
    return join(this.root, path)
  }

  localPath(path: string): string {
    return this.#abs(path)
  }

  async stat(path: string): Promise<SourceEntry> {
    try {
      const st = await lstat(this.#abs(path))
      return { path, kind: kindOf(st), sizeBytes: st.size, mtimeMs: st.mtimeMs, inode: st.ino, mode: st.mode }
    } catch (err) {
      throw ioFailed(`reading ${path}`, err)
    }
  }

  async *walk(): AsyncIterable<SourceEntry> {
    const stack: string[] = ['']
    while (stack.length > 0) {
      const rel = stack.pop() as string
      let dir
      try {
        dir = await opendir(rel === '' ? this.root : join(this.root, rel))
      } catch (err) {
        throw ioFailed(`listing ${rel || '/'}`, err)
      }
      const names: string[] = []
      for await (const d of dir) names.push(d.name)
      names.sort()
      const subdirs: string[] = []
      // lstat a directory's entries concurrently: on many small files the walk is latency-bound.
      for (let i = 0; i < names.length; i += WALK_STAT_BATCH) {
        const batch = names.slice(i, i + WALK_STAT_BATCH).map((name) => (rel === '' ? name : `${rel}/${name}`))
        const stats = await Promise.all(
          batch.map((path) =>
            lstat(join(this.root, path)).catch((err) => {
              if (isNotFound(err)) return null
              throw ioFailed(`reading ${path}`, err)
            }),
          ),
        )
        for (let j = 0; j < batch.length; j++) {
          const st = stats[j]
          if (!st) continue // vanished between listing and stat: it is simply not in this snapshot
          const entry: SourceEntry = { path: batch[j] as string, kind: kindOf(st), sizeBytes: st.size, mtimeMs: st.mtimeMs, inode: st.ino, mode: st.mode }
          yield entry
          if (entry.kind === 'dir') subdirs.push(entry.path)
        }
      }
      for (const s of subdirs.reverse()) stack.push(s)
    }
  }

  async readLink(path: string): Promise<string> {
    try {
      return await readlink(this.#abs(path))
    } catch (err) {
      throw ioFailed(`reading the link ${path}`, err)
    }
  }

  async *read(path: string): AsyncIterable<Uint8Array> {
    const abs = this.#abs(path)
    let fh
    try {
      fh = await open(abs, 'r')
    } catch (err) {
      throw ioFailed(`reading ${path}`, err)
    }
    try {
      const { size } = await fh.stat()
      if (size <= WHOLE_READ_BYTES) {
        // One read of the size fstat gave; if the file grows meanwhile, the caller's stat after
        // reading sees a size that differs from the bytes it got.
        const buf = new Uint8Array(size)
        let filled = 0
        while (filled < size) {
          const { bytesRead } = await fh.read(buf, filled, size - filled, filled)
          if (bytesRead === 0) break
          filled += bytesRead
        }
        yield buf.subarray(0, filled)
        return
      }
      let position = 0
      for (;;) {
        const buf = new Uint8Array(WHOLE_READ_BYTES)
        const { bytesRead } = await fh.read(buf, 0, buf.length, position)
        if (bytesRead === 0) return
        position += bytesRead
        yield buf.subarray(0, bytesRead)
      }
    } catch (err) {
      if (err instanceof Error && err.name === 'BackupError') throw err
      throw ioFailed(`reading ${path}`, err)
    } finally {
      await fh.close()
    }
  }
}

