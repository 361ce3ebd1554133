import test from 'ava'
import { constants } from 'node:fs'
import { readdir, stat, writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { objectStoreContract } from '../../../test/contract/object-store.js'
import { tempDir, sampleBytes, descriptorFlags } from '../../../test/helpers/index.js'
import { FsObjectStore, DIRECT_READ_MIN_BYTES, DIRECT_WRITE_MIN_BYTES } from './fs-object-store.js'
import { asPackId, type PackId } from '../../core/ids.js'
import { READ_SLACK_BYTES, type ObjectReader } from '../../core/ports/object-store.js'
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

objectStoreContract('FsObjectStore with direct writes and reads', async (t) => {
  const store = new FsObjectStore(await tempDir(t), { directWrite: native.writeAll, directRead: native.readAt })
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

test('FsObjectStore › with a direct reader, ranges from 64 KiB up are read past the page cache, smaller ones through it; all exact, bad ranges refused', async (t) => {
  const root = await tempDir(t)
  const reads: number[] = []
  const store = new FsObjectStore(root, {
    directWrite: native.writeAll,
    directRead: async (fd, offset, into) => {
      t.true((descriptorFlags(fd) & constants.O_DIRECT) !== 0, 'the descriptor has O_DIRECT')
      reads.push(into.length)
      return native.readAt(fd, offset, into)
    },
  })
  t.teardown(() => store.close())
  const size = 5 * 1024 * 1024 + 321
  const want = sampleBytes(9, size)
  const id = asPackId(new Uint8Array(32).fill(0x3c))
  await store.put(id, want)
  for (const [offset, length] of [[0, size], [1000, DIRECT_READ_MIN_BYTES], [77, DIRECT_READ_MIN_BYTES - 1], [size - 70_000, 70_000]] as const) {
    t.deepEqual(await store.getRange(id, offset, length), want.subarray(offset, offset + length))
    const into = new Uint8Array(length + 10)
    t.deepEqual(await store.getRange(id, offset, length, into), want.subarray(offset, offset + length))
  }
  t.deepEqual(reads, [size, size, DIRECT_READ_MIN_BYTES, DIRECT_READ_MIN_BYTES, 70_000, 70_000])
  await t.throwsAsync(store.getRange(id, size - 10, DIRECT_READ_MIN_BYTES), { code: 'INPUT_INVALID' })
  await t.throwsAsync(store.getRange(asPackId(new Uint8Array(32).fill(0x3d)), 0, DIRECT_READ_MIN_BYTES), { code: 'OBJECT_MISSING' })
  t.is(reads.length, 6, 'refused ranges read nothing')
})

test('FsObjectStore › a reader given READ_SLACK_BYTES of room places each range where memory lines up with the file (read in place by O_DIRECT); with less room, or without pageGap, at the start', async (t) => {
  const root = await tempDir(t)
  const store = new FsObjectStore(root, { directWrite: native.writeAll, directRead: native.readAt, pageGap: native.pageGap })
  const plain = new FsObjectStore(root, { directRead: native.readAt })
  t.teardown(() => Promise.all([store.close(), plain.close()]))
  const size = 3 * 1024 * 1024 + 999
  const want = sampleBytes(10, size)
  const id = asPackId(new Uint8Array(32).fill(0x3e))
  await store.put(id, want)
  const reader = await (store.openReader as (id: PackId) => Promise<ObjectReader>)(id)
  const unplaced = await (plain.openReader as (id: PackId) => Promise<ObjectReader>)(id)
  t.teardown(() => Promise.all([reader.close(), unplaced.close()]))
  for (const [offset, length] of [[32, 1_048_832], [0, size], [4095, 70_000], [size - 5000, 5000], [65_584, 17]] as const) {
    for (const into of [new Uint8Array(length + READ_SLACK_BYTES), allocateShared(length + READ_SLACK_BYTES + 3).subarray(3)]) {
      const got = await reader.read(offset, length, into)
      t.true(Buffer.from(got).equals(want.subarray(offset, offset + length)), `${offset}+${length}`)
      t.is(got.buffer, into.buffer, 'a view of the memory given')
      t.true(got.byteOffset >= into.byteOffset && got.byteOffset + length <= into.byteOffset + into.length, 'inside it')
      t.is((4096 - native.pageGap(got)) % 4096, offset % 4096, 'lined up with the file offset')
      const tight = await reader.read(offset, length, into.subarray(0, length + READ_SLACK_BYTES - 1))
      t.is(tight.byteOffset, into.byteOffset, 'less room: at the start')
      t.true(Buffer.from(tight).equals(want.subarray(offset, offset + length)))
      const other = await unplaced.read(offset, length, into)
      t.is(other.byteOffset, into.byteOffset, 'no pageGap: at the start')
      t.true(Buffer.from(other).equals(want.subarray(offset, offset + length)))
    }
  }
  await t.throwsAsync(reader.read(size - 10, 11, new Uint8Array(11 + READ_SLACK_BYTES)), { code: 'INPUT_INVALID' })
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
