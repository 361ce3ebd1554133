import { readdirSync, readFileSync } from 'node:fs'
import type Database from 'better-sqlite3'
import { indexCorrupt } from '../../core/errors.js'

export const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url)

export interface Migration {
  version: number
  name: string
  sql: string
}

/** The numbered migrations NNN-name.sql in order; numbering must be 1, 2, 3… with no gaps. */
export function loadMigrations(dir: URL = MIGRATIONS_DIR): Migration[] {
  const files = readdirSync(dir).filter((f) => /^\d{3}-[a-z0-9-]+\.sql$/.test(f)).sort()
  return files.map((name, i) => {
    const version = Number(name.slice(0, 3))
    if (version !== i + 1) throw new Error(`migration ${name} is out of sequence (expected ${i + 1})`)
    return { version, name, sql: readFileSync(new URL(name, dir), 'utf8') }
  })
}

/**
 * Brings the database to the newest schema. Each migration runs in its own transaction together
 * with the user_version bump, so a crash leaves the database at one version or the next.
 * A database newer than this program knows is refused rather than guessed at.
 */
export function migrate(db: Database.Database, migrations: Migration[] = loadMigrations()): number {
  const current = db.pragma('user_version', { simple: true }) as number
  const latest = migrations.length
  if (current > latest) throw indexCorrupt(`index schema version ${current} is newer than this program (${latest}); upgrade Quloud`)
  for (const m of migrations.slice(current)) {
    db.transaction(() => {
      db.exec(m.sql)
      db.pragma(`user_version = ${m.version}`)
    })()
  }
  return latest
}
