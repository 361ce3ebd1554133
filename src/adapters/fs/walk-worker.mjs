/**
 * Worker thread body of FsSource.walk(): lists folders and lstats their entries with the
 * synchronous calls, off the main thread (on 100,000 files the main thread's share of an async
 * walk was over a second; here it only receives the entries). Depth first, names sorted, each
 * folder's entries before the contents of its sub-folders, as walk() promises.
 *
 * Messages, in order: { entries } (flat: path, kind, size, mtimeMs, ino, mode per entry) at most
 * BATCH entries each; then { done: true }, or { error: { what, message, code } } and nothing more.
 * Flow control: ctrl[0] counts entries sent, ctrl[1] entries the reader has used; the worker
 * stays at most `ahead` entries (and one batch) in front, so it can walk on while the reader is
 * busy without filling memory on a share of millions of files.
 *
 * Plain JavaScript (with kind-of.mjs its only import besides Node's): a worker that needs the
 * TypeScript loader takes about 0.4 s to start, and every backup starts its walk with one.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { lstatSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { kindOf } from './kind-of.mjs'

const BATCH = 1024

/** @type {{ root: string, ctrl: SharedArrayBuffer, ahead: number }} */
const { root, ctrl: shared, ahead } = workerData
const ctrl = new Int32Array(shared)
const port = parentPort

let out = []
function flush() {
  if (out.length === 0) return
  for (;;) {
    const used = Atomics.load(ctrl, 1)
    if (Atomics.load(ctrl, 0) - used < ahead) break
    Atomics.wait(ctrl, 1, used, 1000)
  }
  Atomics.add(ctrl, 0, out.length / 6)
  port.postMessage({ entries: out })
  out = []
}

function fail(what, err) {
  port.postMessage({ error: { what, message: String(err?.message ?? err), code: err?.code } })
  process.exit(0)
}

const stack = ['']
while (stack.length > 0) {
  const rel = stack.pop()
  let names
  try {
    names = readdirSync(rel === '' ? root : join(root, rel)).sort()
  } catch (err) {
    fail(`listing ${rel || '/'}`, err)
  }
  const subdirs = []
  for (const name of names) {
    const path = rel === '' ? name : `${rel}/${name}`
    let st
    try {
      st = lstatSync(join(root, path), { throwIfNoEntry: false })
    } catch (err) {
      fail(`reading ${path}`, err)
    }
    if (!st) continue // vanished between listing and stat: it is simply not in this snapshot
    const kind = kindOf(st)
    out.push(path, kind, st.size, st.mtimeMs, st.ino, st.mode)
    if (kind === 'dir') subdirs.push(path)
    if (out.length >= BATCH * 6) flush()
  }
  flush()
  for (const s of subdirs.reverse()) stack.push(s)
}
flush()
port.postMessage({ done: true })
