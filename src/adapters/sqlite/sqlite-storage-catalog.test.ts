import test from 'ava'
import Database from 'better-sqlite3'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { SqliteStorageCatalog, STORAGE_MIGRATIONS_DIR } from './sqlite-storage-catalog.js'
import { loadMigrations, migrate } from './migrate.js'
import { storageCatalogContract } from '../../../test/contract/storage-catalog.js'
import { schemaOf } from '../../../test/helpers/sqlite.js'
import { tempDir } from '../../../test/helpers/index.js'

storageCatalogContract('SqliteStorageCatalog', async (t) => {
  const c = new SqliteStorageCatalog(join(await tempDir(t), 'storage.sqlite'))
  await c.open()
  t.teardown(() => c.close())
  return c
})

test('storage migrations produce exactly schema/storage.sql', (t) => {
  const migrated = new Database(':memory:')
  migrate(migrated, loadMigrations(STORAGE_MIGRATIONS_DIR))
  const reference = new Database(':memory:')
  reference.exec(readFileSync(new URL('./schema/storage.sql', import.meta.url), 'utf8'))
  t.deepEqual(schemaOf(migrated), schemaOf(reference))
  t.true(schemaOf(migrated).filter((s) => s.startsWith('CREATE TABLE')).every((s) => s.includes('STRICT')))
})

test('rows survive a reopen; a closed catalog refuses use', async (t) => {
  const path = join(await tempDir(t), 'storage.sqlite')
  const a = new SqliteStorageCatalog(path)
  await a.open()
  a.insert({ objectTag: new Uint8Array(32).fill(1), senderTag: new Uint8Array(32).fill(2), ownerTag: new Uint8Array(32).fill(3), sizeBytes: 42, sealedMeta: new Uint8Array([1]) })
  await a.close()
  t.throws(() => a.bytesTotal(), { code: 'CLOSED' })
  const b = new SqliteStorageCatalog(path)
  await b.open()
  t.is(b.bytesTotal(), 42)
  await b.close()
})
