import test from 'ava'
import { readdir, stat, writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { objectStoreContract } from '../../../test/contract/object-store.js'
import { tempDir, sampleBytes } from '../../../test/helpers/index.js'
import { FsObjectStore } from './fs-object-store.js'
import { asPackId } from '../../core/ids.js'

objectStoreContract('FsObjectStore', async (t) => {
  const store = new FsObjectStore(await tempDir(t))
  t.teardown(() => store.close())
  return store
})

test('FsObjectStore › shards by the first byte, mode 0600, no temp files left', async (t) => {
  const root = await tempDir(t)
  const store = new FsObjectStore(root)
  t.teardown(() => store.close())
  const id = asPackId(new Uint8Array(32).fill(0xab))
  await store.put(id, sampleBytes(1, 1000))
  const file = join(root, 'ab', 'ab'.repeat(32))
  t.is((await stat(file)).mode & 0o777, 0o600)
  t.deepEqual(await readdir(join(root, 'tmp')), [])
})

test('FsObjectStore › leftovers of an interrupted write are cleared on open and never listed', async (t) => {
  const root = await tempDir(t)
  await mkdir(join(root, 'tmp'), { recursive: true })
  await writeFile(join(root, 'tmp', 'half-written'), 'x')
  await mkdir(join(root, 'cd'), { recursive: true })
  await writeFile(join(root, 'cd', 'not-an-object'), 'x')
  const store = new FsObjectStore(root)
  t.teardown(() => store.close())
  const listed = []
  for await (const id of store.list()) listed.push(id)
  t.deepEqual(listed, [])
  t.deepEqual(await readdir(join(root, 'tmp')), [])
})
