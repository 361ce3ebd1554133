import { Worker } from 'node:worker_threads'
import { lstat, open, readlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { EntryKind, SourceEntry, SourceFs } from '../../core/ports/source-fs.js'
import { inputInvalid, ioFailed } from '../../core/errors.js'
import { kindOf } from './fs-util.js'

/** Files up to this size are read in one call; larger ones stream in pieces of this size. */
const WHOLE_READ_BYTES = 4 * 1024 * 1024
// Plain JavaScript, from source as from dist/: it needs no TypeScript loader.
const WALK_WORKER_URL = new URL('./walk-worker.mjs', import.meta.url)

/**
 * Flags, as `--flag=x` or `--flag x`, that load modules before the entry point, or say how to
 * read the entry point (a worker given --input-type fails to start: its entry is a file).
 */
const PRELOAD_FLAGS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader', '--input-type'])

/**
 * The process's Node flags without those that preload modules (PRELOAD_FLAGS): a worker inherits them, and
 * run from source (`--import=tsx`) the walker would load the TypeScript loader it does not need
 * before listing anything (measured: first entry after 170 ms instead of 45 ms).
 */
export function execArgvWithoutPreloads(argv: readonly string[] = process.execArgv): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    const eq = arg.indexOf('=')
    const flag = eq < 0 ? arg : arg.slice(0, eq)
    if (!PRELOAD_FLAGS.has(flag)) out.push(arg)
    else if (eq < 0) i++ // its value is the next argument
  }
  return out
}

/** Entries the walker may list ahead of the reader: a few megabytes at most. */
const WALK_AHEAD_ENTRIES = 16 * 1024

/**
 * The walk worker, without the process's preloads when it has any. A worker refuses some
 * inherited flags when they are passed explicitly (--max-old-space-size, --title: "invalid
 * execArgv"); it then inherits them all, preloads included, as by default.
 */
function startWalker(workerData: Record<string, unknown>): Worker {
  const execArgv = execArgvWithoutPreloads()
  if (execArgv.length !== process.execArgv.length) {
    try {
      return new Worker(WALK_WORKER_URL, { execArgv, workerData })
    } catch (err) {
      if ((err as { code?: string }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw err
    }
  }
  return new Worker(WALK_WORKER_URL, { workerData })
}

interface WalkMessage {
  entries?: unknown[]
  done?: boolean
  error?: { what: string; message: string; code?: string }
}

/** SourceFs over a local folder. Never follows symlinks; paths are share-relative with '/'. */
export class FsSource implements SourceFs {
  /** walkAheadEntries: how far the walker may run ahead of the reader (tests make it small). */
  constructor(
    readonly root: string,
    private readonly opts: { walkAheadEntries?: number } = {},
  ) {}

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

  /** The walk runs on its own worker thread (walk-worker.mjs); entries arrive in batches. */
  async *walk(): AsyncIterable<SourceEntry> {
    const ctrl = new Int32Array(new SharedArrayBuffer(8))
    const worker = startWalker({ root: this.root, ctrl: ctrl.buffer, ahead: this.opts.walkAheadEntries ?? WALK_AHEAD_ENTRIES })
    const inbox: WalkMessage[] = []
    let wake: (() => void) | null = null
    const deliver = (m: WalkMessage) => {
      inbox.push(m)
      wake?.()
    }
    worker.on('message', deliver)
    worker.on('error', (err) => deliver({ error: { what: 'walking the share', message: err.message } }))
    worker.on('exit', () => deliver({ error: { what: 'walking the share', message: 'the walker stopped early' } }))
    try {
      for (;;) {
        while (inbox.length === 0) await new Promise<void>((r) => (wake = r))
        wake = null
        const m = inbox.shift() as WalkMessage
        if (m.done) return
        if (m.error) throw ioFailed(m.error.what, Object.assign(new Error(m.error.message), { code: m.error.code }))
        const e = m.entries as unknown[]
        for (let i = 0; i < e.length; i += 6) {
          yield { path: e[i] as string, kind: e[i + 1] as EntryKind, sizeBytes: e[i + 2] as number, mtimeMs: e[i + 3] as number, inode: e[i + 4] as number, mode: e[i + 5] as number }
        }
        Atomics.add(ctrl, 1, e.length / 6)
        Atomics.notify(ctrl, 1)
      }
    } finally {
      worker.removeAllListeners('exit')
      await worker.terminate()
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

