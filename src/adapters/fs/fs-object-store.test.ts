import test from 'ava'
import { readdir, stat, writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { objectStoreContract } from '../../../test/contract/object-store.js'
import { tempDir, sampleBytes } from '../../../test/helpers/index.js'
import { FsObjectStore, DIRECT_WRITE_MIN_BYTES } from './fs-object-store.js'
import { asPackId } from '../../core/ids.js'
import { nativeIngest, type NativeIngest } from '../sodium/native-ingest.js'
import { allocateShared } from '../../core/pack/index.js'

const native = nativeIngest() as NativeIngest

objectStoreContract('FsObjectStore', async (t) => {
  const store = new FsObjectStore(await tempDir(t))
  t.teardown(() => store.close())
  return store
})

objectStoreContract('FsObjectStore with direct writes', async (t) => {
  const store = new FsObjectStore(await tempDir(t), { directWrite: native.writeAll })
  t.teardown(() => store.close())
  return store
})

test('FsObjectStore › large objects go by direct I/O (all but the last partial block), small ones through the page cache; all read back exactly', async (t) => {
  const root = await tempDir(t)
  const direct: Array<{ size: number; direct: number }> = []
  const store = new FsObjectStore(root, {
    directWrite: async (fd, bytes) => {
      const n = await native.writeAll(fd, bytes)
      direct.push({ size: bytes.length, direct: n })
      return n
    },
  })
  t.teardown(() => store.close())
  const sizes = [DIRECT_WRITE_MIN_BYTES - 1, DIRECT_WRITE_MIN_BYTES, 3 * 1024 * 1024 + 123, 16 * 1024 * 1024 + 512 * 1024]
  for (const [k, size] of sizes.entries()) {
    const want = sampleBytes(k, size)
    const bytes = k % 2 ? allocateShared(size) : new Uint8Array(size) // pack memory is shared
    bytes.set(want)
    const id = asPackId(new Uint8Array(32).fill(k + 1))
    const events: string[] = []
    await store.put(id, bytes, { onWritten: () => events.push('written') })
    t.deepEqual(events, ['written'])
    t.true(Buffer.from(want).equals(await store.get(id)), `${size} bytes read back`)
    t.deepEqual(await store.getRange(id, size - 5000, 5000), want.subarray(size - 5000))
  }
  t.deepEqual(direct, sizes.slice(1).map((size) => ({ size, direct: size - (size % 4096) })))
  t.deepEqual(await readdir(join(root, 'tmp')), [])
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
