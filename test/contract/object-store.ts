import test, { type ExecutionContext } from 'ava'
import type { ObjectStore } from '../../src/core/ports/object-store.js'
import { asPackId } from '../../src/core/ids.js'
import { BackupError } from '../../src/core/errors.js'
import { sampleBytes } from '../helpers/index.js'

const id = (n: number) => asPackId(new Uint8Array(32).fill(n))

/** The ObjectStore contract (core/ports/object-store.ts); every adapter runs it. */
export function objectStoreContract(label: string, make: (t: ExecutionContext) => Promise<ObjectStore>) {
  test(`${label} › put then get, size, has, range`, async (t) => {
    const store = await make(t)
    const bytes = sampleBytes(1, 100_000)
    await store.put(id(1), bytes)
    t.deepEqual(await store.get(id(1)), bytes)
    t.is(await store.size(id(1)), bytes.length)
    t.true(await store.has(id(1)))
    t.false(await store.has(id(2)))
    t.deepEqual(await store.getRange(id(1), 4096, 1000), bytes.subarray(4096, 5096))
    t.deepEqual(await store.getRange(id(1), 0, 0), new Uint8Array(0))
    t.deepEqual(await store.getRange(id(1), 99_000, 1000), bytes.subarray(99_000))
  })

  test(`${label} › a range read into the caller's buffer fills exactly its first bytes and returns a view of them`, async (t) => {
    const store = await make(t)
    const bytes = sampleBytes(6, 100_000)
    await store.put(id(1), bytes)
    const into = new Uint8Array(120_000).fill(0xee)
    const got = await store.getRange(id(1), 0, bytes.length, into)
    t.is(got.buffer, into.buffer)
    t.is(got.byteOffset, into.byteOffset)
    t.deepEqual(got, bytes)
    t.true(into.subarray(bytes.length).every((b) => b === 0xee), 'nothing past the range is written')
    const part = await store.getRange(id(1), 5000, 3000, into.subarray(7))
    t.is(part.byteOffset, 7)
    t.deepEqual(part, bytes.subarray(5000, 8000))
    t.deepEqual(into.subarray(0, 7), bytes.subarray(0, 7), 'nothing before the view is written')
  })

  test(`${label} › put is idempotent and keeps the first bytes`, async (t) => {
    const store = await make(t)
    const bytes = sampleBytes(2, 5000)
    await store.put(id(3), bytes)
    await t.notThrowsAsync(store.put(id(3), bytes))
    t.deepEqual(await store.get(id(3)), bytes)
  })

  test(`${label} › onWritten comes once, before put resolves; the bytes may be reused from then on`, async (t) => {
    const store = await make(t)
    const bytes = sampleBytes(6, 300_000)
    const want = bytes.slice()
    const events: string[] = []
    const put = store.put(id(7), bytes, {
      onWritten: () => {
        events.push('written')
        bytes.fill(0) // the caller reuses its memory at once
      },
    }).then(() => events.push('resolved'))
    await put
    t.deepEqual(events, ['written', 'resolved'])
    t.deepEqual(await store.get(id(7)), want)
    // Putting an id that exists takes nothing either: it is written at once.
    const again: string[] = []
    await store.put(id(7), sampleBytes(9, 10), { onWritten: () => again.push('written') })
    t.deepEqual(again, ['written'])
    t.deepEqual(await store.get(id(7)), want)
  })

  test(`${label} › returned bytes are the caller's: mutating them changes nothing stored`, async (t) => {
    const store = await make(t)
    const bytes = sampleBytes(3, 100)
    await store.put(id(4), bytes)
    bytes[0] = (bytes[0] as number) ^ 0xff
    const got = await store.get(id(4))
    t.notDeepEqual(got, bytes)
    got[1] = (got[1] as number) ^ 0xff
    t.deepEqual(await store.get(id(4)), sampleBytes(3, 100))
  })

  test(`${label} › missing objects reject with OBJECT_MISSING`, async (t) => {
    const store = await make(t)
    await t.throwsAsync(store.get(id(9)), { instanceOf: BackupError, code: 'OBJECT_MISSING' })
    await t.throwsAsync(store.getRange(id(9), 0, 1), { instanceOf: BackupError, code: 'OBJECT_MISSING' })
    await t.throwsAsync(store.size(id(9)), { instanceOf: BackupError, code: 'OBJECT_MISSING' })
  })

  test(`${label} › bad ranges reject with INPUT_INVALID and change nothing`, async (t) => {
    const store = await make(t)
    const bytes = sampleBytes(4, 1000)
    await store.put(id(5), bytes)
    for (const [o, l] of [[-1, 1], [0, -1], [999, 2], [1001, 0], [0.5, 1], [Number.MAX_SAFE_INTEGER, 1]] as const) {
      await t.throwsAsync(store.getRange(id(5), o, l), { instanceOf: BackupError, code: 'INPUT_INVALID' }, `${o}+${l}`)
    }
    const into = new Uint8Array(99).fill(7)
    await t.throwsAsync(store.getRange(id(5), 0, 100, into), { instanceOf: BackupError, code: 'INPUT_INVALID' }, 'a buffer too short')
    t.true(into.every((b) => b === 7), 'a buffer too short is not written')
    t.deepEqual(await store.get(id(5)), bytes)
  })

  test(`${label} › an opened reader reads ranges as getRange does, checks them the same way, and refuses reads once closed`, async (t) => {
    const store = await make(t)
    if (!store.openReader) return t.pass('this store has no readers (callers use getRange)')
    const bytes = sampleBytes(8, 300_000)
    await store.put(id(3), bytes)
    await t.throwsAsync(store.openReader(id(9)), { instanceOf: BackupError, code: 'OBJECT_MISSING' })
    const reader = await store.openReader(id(3))
    t.is(reader.sizeBytes, bytes.length)
    // Small and large, aligned and not, at once (a server prefetches the next piece).
    const [a, b, c] = await Promise.all([reader.read(0, 10), reader.read(4097, 200_000), reader.read(299_990, 10)])
    t.deepEqual(a, bytes.subarray(0, 10))
    t.deepEqual(b, bytes.subarray(4097, 204_097))
    t.deepEqual(c, bytes.subarray(299_990))
    const into = new Uint8Array(70_000).fill(0xee)
    const got = await reader.read(65_536, 65_536, into)
    t.is(got.buffer, into.buffer)
    t.deepEqual(got, bytes.subarray(65_536, 131_072))
    t.true(into.subarray(65_536).every((x) => x === 0xee), 'nothing past the range is written')
    for (const [o, l] of [[-1, 1], [0, -1], [299_999, 2], [0.5, 1]] as const) {
      await t.throwsAsync(reader.read(o, l), { instanceOf: BackupError, code: 'INPUT_INVALID' }, `${o}+${l}`)
    }
    await t.throwsAsync(reader.read(0, 100, new Uint8Array(99)), { instanceOf: BackupError, code: 'INPUT_INVALID' })
    await reader.close()
    await reader.close()
    await t.throwsAsync(reader.read(0, 1), { instanceOf: BackupError, code: 'CLOSED' })
    t.deepEqual(await store.get(id(3)), bytes)
  })

  test(`${label} › delete is idempotent; list yields each id once`, async (t) => {
    const store = await make(t)
    for (const n of [10, 11, 12]) await store.put(id(n), sampleBytes(n, 10))
    await store.delete(id(11))
    await store.delete(id(11))
    await store.delete(id(99))
    const listed: string[] = []
    for await (const x of store.list()) listed.push(Buffer.from(x).toString('hex'))
    t.deepEqual(listed.sort(), [id(10), id(12)].map((x) => Buffer.from(x).toString('hex')).sort())
    await t.throwsAsync(store.get(id(11)), { instanceOf: BackupError, code: 'OBJECT_MISSING' })
  })
}
