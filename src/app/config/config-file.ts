import type { DataDir } from '../../core/ports/data-dir.js'
import { configInvalid } from '../../core/errors.js'
import { CONFIG_VERSION, type DaemonConfig } from './defaults.js'
import { resolveConfig } from './load.js'

export const CONFIG_FILE = 'config.json'

/** The settings the settings page may change (the rest stay with the NAS app, env and flags). */
export type EditableSettings = Partial<Pick<DaemonConfig, 'ssdp' | 'shareRoots' | 'auditSchedule' | 'alertWebhook' | 'uploadLimitBytesPerSec' | 'storageCapacityBytes'>>
const EDITABLE = new Set(['ssdp', 'shareRoots', 'auditSchedule', 'alertWebhook', 'uploadLimitBytesPerSec', 'storageCapacityBytes'])

/**
 * config.json in the data folder, as the settings page edits it: the changes are merged into what
 * the file holds, the whole is validated exactly as a start would (CONFIG_INVALID, nothing
 * written), then written atomically (0600: it may hold the webhook's token). They apply at the
 * next start; QULOUD_* variables and flags still win over the file.
 */
export class ConfigFile {
  /** `validCron`: the scheduler's own check of a cron expression (the config only checks its shape). */
  constructor(private readonly dataDir: DataDir, private readonly validCron: (expression: string) => boolean = () => true) {}

  async update(changes: EditableSettings): Promise<Readonly<DaemonConfig>> {
    for (const k of Object.keys(changes)) if (!EDITABLE.has(k)) throw configInvalid(`"${k}" is not changed from the settings page`)
    const text = await this.dataDir.readText(CONFIG_FILE)
    let doc: Record<string, unknown> = { version: CONFIG_VERSION }
    if (text !== null) {
      try {
        doc = JSON.parse(text) as Record<string, unknown>
      } catch {
        throw configInvalid('config.json is not valid JSON: fix or remove it first')
      }
    }
    const next = { ...doc, ...Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined)) }
    const fileText = JSON.stringify(next, null, 2) + '\n'
    const resolved = resolveConfig({ fileText })
    if (!this.validCron(resolved.auditSchedule)) throw configInvalid(`auditSchedule "${resolved.auditSchedule.slice(0, 60)}" is not a valid cron expression`)
    await this.dataDir.writeAtomic(CONFIG_FILE, fileText, 0o600)
    return resolved
  }
}
