import { configInvalid } from '../../core/errors.js'
import { DEFAULTS, type DaemonConfig } from './defaults.js'
import { migrateConfig } from './migrate.js'
import { validateConfig } from './schema.js'

/** Settings as the CLI passes them: only those the user actually gave. */
export interface ConfigFlags {
  dataDir?: string
  webListen?: string
  peerListen?: string
  ssdp?: boolean
  peers?: string[]
  passphraseFile?: string
  logLevel?: string
  storageCapacityBytes?: string
  storagePerOwnerBytes?: string
  catchUpSeconds?: string
  watchDebounceSeconds?: string
  auditSchedule?: string
  auditDeadlineSeconds?: string
  leaseDays?: string
  peerExchangeSeconds?: string
  shareRoots?: string[]
  alertWebhook?: string
  alertBackupWindowHours?: string
  uploadLimitBytesPerSec?: string
  alertSmtpUrl?: string
  alertEmailTo?: string
  alertEmailFrom?: string
}

/** The QULOUD_* twin of every flag. */
export const ENV_VARS: Record<keyof ConfigFlags, string> = {
  dataDir: 'QULOUD_DATA_DIR',
  webListen: 'QULOUD_WEB_LISTEN',
  peerListen: 'QULOUD_PEER_LISTEN',
  ssdp: 'QULOUD_SSDP',
  peers: 'QULOUD_PEERS',
  passphraseFile: 'QULOUD_PASSPHRASE_FILE',
  logLevel: 'QULOUD_LOG_LEVEL',
  storageCapacityBytes: 'QULOUD_STORAGE_CAPACITY_BYTES',
  storagePerOwnerBytes: 'QULOUD_STORAGE_PER_OWNER_BYTES',
  catchUpSeconds: 'QULOUD_CATCH_UP_SECONDS',
  watchDebounceSeconds: 'QULOUD_WATCH_DEBOUNCE_SECONDS',
  auditSchedule: 'QULOUD_AUDIT_SCHEDULE',
  auditDeadlineSeconds: 'QULOUD_AUDIT_DEADLINE_SECONDS',
  leaseDays: 'QULOUD_LEASE_DAYS',
  peerExchangeSeconds: 'QULOUD_PEER_EXCHANGE_SECONDS',
  shareRoots: 'QULOUD_SHARE_ROOTS',
  alertWebhook: 'QULOUD_ALERT_WEBHOOK',
  alertBackupWindowHours: 'QULOUD_ALERT_BACKUP_WINDOW_HOURS',
  uploadLimitBytesPerSec: 'QULOUD_UPLOAD_LIMIT_BYTES_PER_SEC',
  alertSmtpUrl: 'QULOUD_ALERT_SMTP_URL',
  alertEmailTo: 'QULOUD_ALERT_EMAIL_TO',
  alertEmailFrom: 'QULOUD_ALERT_EMAIL_FROM',
}

function fromEnv(env: Record<string, string | undefined>): ConfigFlags {
  const out: ConfigFlags = {}
  const str = (k: keyof ConfigFlags) => {
    const v = env[ENV_VARS[k]]
    return v === undefined || v === '' ? undefined : v
  }
  const set = <K extends keyof ConfigFlags>(k: K, v: ConfigFlags[K] | undefined) => {
    if (v !== undefined) out[k] = v
  }
  set('dataDir', str('dataDir'))
  set('webListen', str('webListen'))
  set('peerListen', str('peerListen'))
  set('passphraseFile', str('passphraseFile'))
  set('logLevel', str('logLevel'))
  set('storageCapacityBytes', str('storageCapacityBytes'))
  set('storagePerOwnerBytes', str('storagePerOwnerBytes'))
  set('catchUpSeconds', str('catchUpSeconds'))
  set('watchDebounceSeconds', str('watchDebounceSeconds'))
  set('auditSchedule', str('auditSchedule'))
  set('auditDeadlineSeconds', str('auditDeadlineSeconds'))
  set('leaseDays', str('leaseDays'))
  set('peerExchangeSeconds', str('peerExchangeSeconds'))
  set('alertWebhook', str('alertWebhook'))
  set('alertBackupWindowHours', str('alertBackupWindowHours'))
  set('uploadLimitBytesPerSec', str('uploadLimitBytesPerSec'))
  set('alertSmtpUrl', str('alertSmtpUrl'))
  set('alertEmailTo', str('alertEmailTo'))
  set('alertEmailFrom', str('alertEmailFrom'))
  const roots = str('shareRoots')
  if (roots !== undefined) out.shareRoots = roots.split(',').map((s) => s.trim()).filter(Boolean)
  const ssdp = str('ssdp')
  if (ssdp !== undefined) {
    if (!['1', '0', 'true', 'false', 'on', 'off'].includes(ssdp)) throw configInvalid(`${ENV_VARS.ssdp} must be true or false`)
    out.ssdp = ['1', 'true', 'on'].includes(ssdp)
  }
  const peers = str('peers')
  if (peers !== undefined) out.peers = peers.split(/[\s,]+/).filter(Boolean)
  return out
}

function parseFile(text: string | null): Record<string, unknown> {
  if (text === null) return {}
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    throw configInvalid('config.json is not valid JSON')
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw configInvalid('config.json must hold a JSON object')
  return migrateConfig(doc as Record<string, unknown>)
}

/**
 * Resolves the configuration once: defaults, then the config file (migrated first), then QULOUD_*
 * environment variables, then flags. An env var never overrides a flag that was given. The
 * result is validated and frozen; any problem is CONFIG_INVALID naming the setting.
 */
export function resolveConfig(input: { flags?: ConfigFlags; env?: Record<string, string | undefined>; fileText?: string | null }): Readonly<DaemonConfig> {
  const merged: Record<string, unknown> = { ...DEFAULTS, ...parseFile(input.fileText ?? null) }
  for (const layer of [fromEnv(input.env ?? {}), input.flags ?? {}]) {
    for (const [k, v] of Object.entries(layer)) if (v !== undefined) merged[k] = v
  }
  return validateConfig(merged)
}

/** Only the data folder, for finding config.json before the rest is resolved. */
export function resolveDataDir(flags: ConfigFlags, env: Record<string, string | undefined>): string {
  return flags.dataDir ?? (env[ENV_VARS.dataDir] || DEFAULTS.dataDir)
}
