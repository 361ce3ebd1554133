import type Database from 'better-sqlite3'

/** A database's schema as normalised CREATE statements, to compare migrations with schema/*.sql. */
export function schemaOf(db: Database.Database): string[] {
  return (db.prepare('SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name').all() as Array<{ sql: string }>).map((r) => r.sql.replace(/\s+/g, ' ').trim())
}
