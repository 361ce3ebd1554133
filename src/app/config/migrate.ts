import { configInvalid } from '../../core/errors.js'
import { CONFIG_VERSION } from './defaults.js'

export interface ConfigMigration {
  to: number
  up(config: Record<string, unknown>): Record<string, unknown>
}

/**
 * Ordered steps from each older config version to the next. Version 1 is the first format, so
 * the list is empty; a later format adds { to: 2, up } here with fixture files of version 1.
 */
export const CONFIG_MIGRATIONS: readonly ConfigMigration[] = []

/** Brings a parsed config file to CONFIG_VERSION; a newer or unversioned file is refused. */
export function migrateConfig(doc: Record<string, unknown>, steps: readonly ConfigMigration[] = CONFIG_MIGRATIONS, latest = CONFIG_VERSION): Record<string, unknown> {
  let version = doc.version
  if (!Number.isInteger(version) || (version as number) < 1) throw configInvalid('config file has no valid "version"')
  if ((version as number) > latest) throw configInvalid(`config file version ${String(version)} is newer than this program (${latest}); upgrade Quloud`)
  let out = { ...doc }
  for (const step of steps) {
    if (step.to === (version as number) + 1) {
      out = { ...step.up(out), version: step.to }
      version = step.to
    }
  }
  if (version !== latest) throw configInvalid(`no migration from config version ${String(version)}`)
  return out
}
