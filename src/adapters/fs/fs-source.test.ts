import test from 'ava'
import { execFileSync } from 'node:child_process'
import { lstatSync, readdirSync } from 'node:fs'
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { FsSource, execArgvWithoutPreloads } from './fs-source.js'
import type { SourceEntry } from '../../core/ports/source-fs.js'
import { BackupError } from '../../core/errors.js'
import { tempDir } from '../../../test/helpers/index.js'
import { writeTree } from '../../../test/helpers/tree.js'

/** What walk() must give, written the plain way: depth first, names sorted, a folder's entries before its sub-folders' contents. */
function expected(root: string): SourceEntry[] {
  const out: SourceEntry[] = []
  const stack = ['']
  while (stack.length > 0) {
    const rel = stack.pop() as string
    const subdirs: string[] = []
    for (const name of readdirSync(join(root, rel)).sort()) {
      const path = rel === '' ? name : `${rel}/${name}`
      const st = lstatSync(join(root, path))
      const kind = st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other'
      out.push({ path, kind, sizeBytes: st.size, mtimeMs: st.mtimeMs, inode: st.ino, mode: st.mode })
      if (kind === 'dir') subdirs.push(path)
    }
    stack.push(...subdirs.reverse())
  }
  return out
}

async function collect(source: FsSource): Promise<SourceEntry[]> {
  const out: SourceEntry[] = []
  for await (const e of source.walk()) out.push(e)
  return out
}

test('walk() yields every entry once with its lstat metadata, sorted, folders before their contents, symlinks not followed', async (t) => {
  const root = await tempDir(t)
  await writeTree(root, { 'b/z.txt': 'z', 'b/a/deep.txt': 'deep', 'a.txt': 'a', 'ünï cödé/x': 'x', 'empty/': {}, 'c/d/e/f.bin': new Uint8Array(5000) })
  await symlink('b', join(root, 'link-to-b'))
  await symlink('/nonexistent/target', join(root, 'b/dangling'))
  execFileSync('mkfifo', [join(root, 'b/fifo')])
  const got = await collect(new FsSource(root))
  t.deepEqual(got, expected(root))
  t.deepEqual(got.filter((e) => e.kind !== 'file' && e.kind !== 'dir').map((e) => `${e.path}:${e.kind}`), ['link-to-b:symlink', 'b/dangling:symlink', 'b/fifo:other'])
  t.false(got.some((e) => e.path.startsWith('link-to-b/')), 'the symlinked folder is not entered')
})

test('walk() of a folder bigger than the walker may run ahead of a slow reader yields everything in order', async (t) => {
  const root = await tempDir(t)
  await mkdir(join(root, 'many'))
  for (let i = 0; i < 6000; i++) await writeFile(join(root, 'many', `f${String(i).padStart(5, '0')}`), '')
  const got: string[] = []
  for await (const e of new FsSource(root, { walkAheadEntries: 500 }).walk()) {
    got.push(e.path)
    if (got.length % 700 === 0) await new Promise((r) => setTimeout(r, 20))
  }
  t.deepEqual(got, expected(root).map((e) => e.path))
  t.is(got.length, 6001)
})

test('walk() can be left early and walked again; a missing root is IO_FAILED', async (t) => {
  const root = await tempDir(t)
  await writeTree(root, { 'a/1': '1', 'a/2': '2', 'b/3': '3' })
  const source = new FsSource(root)
  for await (const e of source.walk()) {
    t.is(e.path, 'a')
    break
  }
  t.is((await collect(source)).length, 5)
  const err = await t.throwsAsync(collect(new FsSource(join(root, 'missing'))), { instanceOf: BackupError, code: 'IO_FAILED' })
  t.is(err?.message, 'IO_FAILED: listing / failed')
})

test('execArgvWithoutPreloads() drops module preloads in both spellings and keeps every other flag', (t) => {
  t.deepEqual(execArgvWithoutPreloads(['--import=tsx', '--max-old-space-size=512', '--import', 'x.mjs', '-r', 'a.cjs', '--require=b', '--loader', 'l.mjs', '--experimental-loader=m', '--input-type=module', '--enable-source-maps']), [
    '--max-old-space-size=512',
    '--enable-source-maps',
  ])
  t.deepEqual(execArgvWithoutPreloads([]), [])
  t.deepEqual(execArgvWithoutPreloads(['--imports=not-a-preload']), ['--imports=not-a-preload'])
})

test('walk() works in a process whose flags a worker refuses when given explicitly (it then inherits them)', async (t) => {
  const root = await tempDir(t)
  await writeTree(root, { 'a.txt': 'a', sub: { 'b.txt': 'bb' } })
  const script = join(root, '..', `walk-${process.pid}.mts`)
  t.teardown(() => rm(script, { force: true }))
  await writeFile(script, `import { FsSource } from ${JSON.stringify(new URL('./fs-source.ts', import.meta.url).href)}
const paths = []
for await (const e of new FsSource(${JSON.stringify(root)}).walk()) paths.push(e.path)
console.log(JSON.stringify(paths))`)
  for (const flags of [['--max-old-space-size=256'], ['--title=quloud-walk-test'], []]) {
    const out = execFileSync(process.execPath, [...flags, '--import=tsx', script], { encoding: 'utf8' })
    t.deepEqual(JSON.parse(out.trim()), ['a.txt', 'sub', 'sub/b.txt'], flags.join(' '))
  }
})
