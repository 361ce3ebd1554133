import test, { type ExecutionContext } from 'ava'
import type { CatalogRow, StorageCatalog } from '../../src/core/ports/storage-catalog.js'

const tag = (n: number) => new Uint8Array(32).fill(n)
const row = (n: number, sender: number, size: number): CatalogRow => ({ objectTag: tag(n), senderTag: tag(100 + sender), ownerTag: tag(200), sizeBytes: size, sealedMeta: new Uint8Array([n, 1, 2, 3]) })

/** The StorageCatalog contract (core/ports/storage-catalog.ts); every adapter runs it. */
export function storageCatalogContract(label: string, make: (t: ExecutionContext) => Promise<StorageCatalog>) {
  test(`${label} › insert, get, sums per sender and in total, delete`, async (t) => {
    const c = await make(t)
    t.is(c.get(tag(1)), null)
    t.true(c.insert(row(1, 1, 1000)))
    t.true(c.insert(row(2, 1, 500)))
    t.true(c.insert(row(3, 2, 70)))
    t.deepEqual(c.get(tag(2)), row(2, 1, 500))
    t.is(c.bytesBySender(tag(101)), 1500)
    t.is(c.bytesBySender(tag(102)), 70)
    t.is(c.bytesBySender(tag(103)), 0)
    t.is(c.bytesTotal(), 1570)
    t.true(c.delete(tag(1)))
    t.false(c.delete(tag(1)))
    t.is(c.bytesBySender(tag(101)), 500)
    t.is([...c.rows()].length, 2)
  })

  test(`${label} › a second insert of the same tag changes nothing`, async (t) => {
    const c = await make(t)
    t.true(c.insert(row(5, 1, 10)))
    t.false(c.insert({ ...row(5, 2, 99), sealedMeta: new Uint8Array([9]) }))
    t.deepEqual(c.get(tag(5)), row(5, 1, 10))
    t.is(c.bytesTotal(), 10)
  })

  test(`${label} › an owner's first pinned value stays`, async (t) => {
    const c = await make(t)
    t.is(c.pinnedOwner(tag(7)), null)
    t.deepEqual(c.pinOwner(tag(7), new Uint8Array([1])), new Uint8Array([1]))
    t.deepEqual(c.pinOwner(tag(7), new Uint8Array([2])), new Uint8Array([1]))
    t.deepEqual(c.pinnedOwner(tag(7)), new Uint8Array([1]))
  })

  test(`${label} › pointers only move forward`, async (t) => {
    const c = await make(t)
    t.is(c.pointer(tag(9)), null)
    t.true(c.putPointer(tag(9), 2, new Uint8Array([2])))
    t.false(c.putPointer(tag(9), 2, new Uint8Array([22])))
    t.false(c.putPointer(tag(9), 1, new Uint8Array([1])))
    t.deepEqual(c.pointer(tag(9)), { seq: 2, sealed: new Uint8Array([2]) })
    t.true(c.putPointer(tag(9), 5, new Uint8Array([5])))
    t.deepEqual(c.pointer(tag(9)), { seq: 5, sealed: new Uint8Array([5]) })
  })

  test(`${label} › leases keep the latest renewal and can be dropped`, async (t) => {
    const c = await make(t)
    t.is(c.lease(tag(8)), null)
    c.renewLease(tag(8), 100)
    c.renewLease(tag(8), 50)
    t.is(c.lease(tag(8)), 100)
    c.renewLease(tag(8), 300)
    t.is(c.lease(tag(8)), 300)
    t.is(c.lease(tag(9)), null)
    c.dropLease(tag(8))
    t.is(c.lease(tag(8)), null)
  })

  test(`${label} › a sender's own quota is kept, replaced and removed`, async (t) => {
    const c = await make(t)
    t.is(c.quota(tag(3)), null)
    c.setQuota(tag(3), 1000)
    c.setQuota(tag(3), 0)
    t.is(c.quota(tag(3)), 0)
    t.is(c.quota(tag(4)), null)
    c.setQuota(tag(3), null)
    t.is(c.quota(tag(3)), null)
  })

  test(`${label} › blobs are kept once and summed per locator`, async (t) => {
    const c = await make(t)
    t.true(c.insertBlob({ blobTag: tag(1), locatorTag: tag(50), sizeBytes: 10 }))
    t.false(c.insertBlob({ blobTag: tag(1), locatorTag: tag(51), sizeBytes: 99 }))
    t.true(c.insertBlob({ blobTag: tag(2), locatorTag: tag(50), sizeBytes: 5 }))
    t.true(c.insertBlob({ blobTag: tag(3), locatorTag: tag(51), sizeBytes: 7 }))
    t.deepEqual(c.blob(tag(1)), { locatorTag: tag(50), sizeBytes: 10 })
    t.is(c.blobBytes(tag(50)), 15)
    t.is(c.blobBytes(), 22)
    t.is(c.blob(tag(4)), null)
  })
}
