import test from 'ava'
import { readFileSync, writeFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { indexStoreContract } from '../../../test/contract/index-store.js'
import { schemaOf } from '../../../test/helpers/sqlite.js'
import { tempDir } from '../../../test/helpers/index.js'
import { SqliteIndexStore } from './sqlite-index-store.js'
import { loadMigrations, migrate } from './migrate.js'
import { BackupError } from '../../core/errors.js'

indexStoreContract('SqliteIndexStore', async (t) => {
  const idx = new SqliteIndexStore(join(await tempDir(t), 'index.sqlite'))
  await idx.open()
  t.teardown(() => idx.close())
  return idx
})

test('migrations produce exactly schema/index.sql, in WAL mode with STRICT tables', async (t) => {
  const dir = await tempDir(t)
  const idx = new SqliteIndexStore(join(dir, 'index.sqlite'))
  await idx.open()
  await idx.close()
  const migrated = new Database(join(dir, 'index.sqlite'))
  t.teardown(() => migrated.close())
  t.is(migrated.pragma('journal_mode', { simple: true }), 'wal')
  t.is(migrated.pragma('user_version', { simple: true }), loadMigrations().length)
  const reference = new Database(':memory:')
  reference.exec(readFileSync(new URL('./schema/index.sql', import.meta.url), 'utf8'))
  t.deepEqual(schemaOf(migrated), schemaOf(reference))
  t.true(schemaOf(migrated).filter((s) => s.startsWith('CREATE TABLE')).every((s) => s.includes('STRICT')))
})

test('reopening keeps data and does not re-run migrations', async (t) => {
  const path = join(await tempDir(t), 'index.sqlite')
  const a = new SqliteIndexStore(path)
  await a.open()
  a.putFile({ shareId: new Uint8Array(16) as never, path: 'x', sizeBytes: 1, mtimeMs: 1, inode: 1, mode: 1, chunkIds: [] })
  await a.close()
  const b = new SqliteIndexStore(path)
  await b.open()
  t.teardown(() => b.close())
  t.is(b.getFile(new Uint8Array(16) as never, 'x')?.sizeBytes, 1)
})

test('an index from a newer program is refused with INDEX_CORRUPT, untouched', async (t) => {
  const path = join(await tempDir(t), 'index.sqlite')
  const db = new Database(path)
  db.pragma('user_version = 999')
  db.close()
  const idx = new SqliteIndexStore(path)
  await t.throwsAsync(idx.open(), { instanceOf: BackupError, code: 'INDEX_CORRUPT' })
  const again = new Database(path)
  t.is(again.pragma('user_version', { simple: true }), 999)
  again.close()
})

test('a row that does not decode is INDEX_CORRUPT, not a crash', async (t) => {
  const path = join(await tempDir(t), 'index.sqlite')
  const idx = new SqliteIndexStore(path)
  await idx.open()
  t.teardown(() => idx.close())
  const raw = new Database(path)
  raw.prepare('INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?)').run(Buffer.alloc(15), 'bad', 1, 1, 1, 1, Buffer.alloc(0))
  raw.close()
  t.throws(() => idx.getFile(Buffer.alloc(15) as never, 'bad'), { instanceOf: BackupError, code: 'INDEX_CORRUPT' })
})

test('loadMigrations() refuses a gap in the numbering', async (t) => {
  const dir = await tempDir(t)
  writeFileSync(join(dir, '001-a.sql'), 'CREATE TABLE a (x INTEGER) STRICT;')
  writeFileSync(join(dir, '003-c.sql'), 'CREATE TABLE c (x INTEGER) STRICT;')
  t.throws(() => loadMigrations(pathToFileURL(dir + '/')), { message: /out of sequence/ })
  writeFileSync(join(dir, '002-b.sql'), 'CREATE TABLE b (x INTEGER) STRICT;')
  const db = new Database(':memory:')
  t.is(migrate(db, loadMigrations(pathToFileURL(dir + '/'))), 3)
  t.is(db.pragma('user_version', { simple: true }), 3)
})
