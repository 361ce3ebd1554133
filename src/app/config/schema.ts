import { configInvalid } from '../../core/errors.js'
import { CONFIG_VERSION, type DaemonConfig, type ListenAddress } from './defaults.js'

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const
const KNOWN_KEYS = new Set(['version', 'dataDir', 'webListen', 'peerListen', 'ssdp', 'peers', 'passphraseFile', 'logLevel', 'storageCapacityBytes', 'storagePerOwnerBytes', 'catchUpSeconds', 'watchDebounceSeconds', 'auditSchedule', 'auditDeadlineSeconds', 'leaseDays', 'peerExchangeSeconds', 'shareRoots', 'alertWebhook', 'alertBackupWindowHours', 'uploadLimitBytesPerSec', 'alertSmtpUrl', 'alertEmailTo', 'alertEmailFrom'])

/** Parses "HOST:PORT" (IPv6 as "[::1]:PORT"); throws CONFIG_INVALID naming the setting. */
export function parseListen(text: string, setting: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(text.trim())
  const port = m ? Number(m[3]) : NaN
  if (!m || port > 65535) throw configInvalid(`${setting} must be HOST:PORT (port 0-65535), got "${text}"`)
  return { host: (m[1] ?? m[2]) as string, port }
}

function listen(value: unknown, setting: string): ListenAddress {
  if (typeof value === 'string') return parseListen(value, setting)
  if (typeof value === 'object' && value !== null) {
    const v = value as Record<string, unknown>
    if (typeof v.host === 'string' && v.host.length > 0 && Number.isInteger(v.port) && (v.port as number) >= 0 && (v.port as number) <= 65535) {
      return { host: v.host, port: v.port as number }
    }
  }
  throw configInvalid(`${setting} must be "HOST:PORT" or { host, port }`)
}

function peerUrl(value: unknown): string {
  if (typeof value !== 'string') throw configInvalid('peers must be a list of https URLs')
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw configInvalid(`peer "${value}" is not a URL`)
  }
  if (url.protocol !== 'https:') throw configInvalid(`peer "${value}" must use https`)
  return url.origin
}

/** A whole number in [min, max], given as a number (config file) or decimal text (env, flags). */
function count(value: unknown, setting: string, min: number, max: number): number {
  const n = typeof value === 'string' && /^\d{1,16}$/.test(value.trim()) ? Number(value) : value
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min || n > max) throw configInvalid(`${setting} must be a whole number from ${min} to ${max}`)
  return n
}

function shareRoots(value: unknown): string[] {
  if (!Array.isArray(value) || value.length > 64) throw configInvalid('shareRoots must be a list of absolute folder paths')
  return value.map((v) => {
    if (typeof v !== 'string' || !v.startsWith('/') || v.length > 1024 || /(^|\/)\.\.?(\/|$)/.test(v)) throw configInvalid(`shareRoots: "${String(v).slice(0, 80)}" is not an absolute folder path`)
    return v.length > 1 ? v.replace(/\/+$/, '') : v
  })
}

/**
 * A URL with one of `protocols` and a host, or null. Such URLs may hold a token or a password,
 * so the error names the setting, never the value.
 */
function urlSetting(value: unknown, setting: string, protocols: string[], what: string): string | null {
  if (value === null) return null
  let url: URL | null = null
  try {
    url = new URL(String(value))
  } catch {
    // refused below
  }
  if (!url || !protocols.includes(url.protocol) || !url.hostname) throw configInvalid(`${setting} must be ${what}`)
  return url.href
}

function email(value: unknown, setting: string): string | null {
  if (value === null) return null
  if (typeof value !== 'string' || !/^[^\s@<>,;]{1,64}@[^\s@<>,;]{1,255}$/.test(value)) throw configInvalid(`${setting} must be one email address`)
  return value
}

/** A cron expression of five fields (the scheduler checks the fields' values when it arms it). */
function cron(value: unknown, setting: string): string {
  if (typeof value !== 'string' || !/^\S+( \S+){4}$/.test(value.trim()) || value.length > 100) throw configInvalid(`${setting} must be a cron expression of five fields (minute hour day month weekday)`)
  return value.trim()
}

/** Validates a merged configuration (combinations included) and returns it frozen. */
export function validateConfig(raw: Record<string, unknown>): Readonly<DaemonConfig> {
  for (const key of Object.keys(raw)) if (!KNOWN_KEYS.has(key)) throw configInvalid(`unknown setting "${key}"`)
  if (raw.version !== CONFIG_VERSION) throw configInvalid(`config version must be ${CONFIG_VERSION}`)
  if (typeof raw.dataDir !== 'string' || raw.dataDir.length === 0) throw configInvalid('dataDir must be a folder path')
  if (typeof raw.ssdp !== 'boolean') throw configInvalid('ssdp must be true or false')
  if (!Array.isArray(raw.peers)) throw configInvalid('peers must be a list of https URLs')
  if (raw.passphraseFile !== null && (typeof raw.passphraseFile !== 'string' || raw.passphraseFile.length === 0)) {
    throw configInvalid('passphraseFile must be a file path or null')
  }
  if (!LOG_LEVELS.includes(raw.logLevel as never)) throw configInvalid(`logLevel must be one of ${LOG_LEVELS.join(', ')}`)
  const webListen = listen(raw.webListen, 'webListen')
  const peerListen = listen(raw.peerListen, 'peerListen')
  if (webListen.port !== 0 && webListen.port === peerListen.port && webListen.host === peerListen.host) {
    throw configInvalid('webListen and peerListen must not be the same address')
  }
  const config: DaemonConfig = {
    version: CONFIG_VERSION,
    dataDir: raw.dataDir,
    webListen,
    peerListen,
    ssdp: raw.ssdp,
    peers: [...new Set(raw.peers.map(peerUrl))],
    passphraseFile: raw.passphraseFile as string | null,
    logLevel: raw.logLevel as DaemonConfig['logLevel'],
    storageCapacityBytes: count(raw.storageCapacityBytes, 'storageCapacityBytes', 0, Number.MAX_SAFE_INTEGER),
    storagePerOwnerBytes: count(raw.storagePerOwnerBytes, 'storagePerOwnerBytes', 0, Number.MAX_SAFE_INTEGER),
    catchUpSeconds: count(raw.catchUpSeconds, 'catchUpSeconds', 1, 86_400),
    watchDebounceSeconds: count(raw.watchDebounceSeconds, 'watchDebounceSeconds', 0, 3600),
    auditSchedule: cron(raw.auditSchedule, 'auditSchedule'),
    auditDeadlineSeconds: count(raw.auditDeadlineSeconds, 'auditDeadlineSeconds', 1, 3600),
    leaseDays: count(raw.leaseDays, 'leaseDays', 1, 3650),
    peerExchangeSeconds: count(raw.peerExchangeSeconds, 'peerExchangeSeconds', 1, 86_400),
    shareRoots: shareRoots(raw.shareRoots),
    alertWebhook: urlSetting(raw.alertWebhook, 'alertWebhook', ['http:', 'https:'], 'an http or https URL'),
    alertBackupWindowHours: count(raw.alertBackupWindowHours, 'alertBackupWindowHours', 1, 24 * 365),
    uploadLimitBytesPerSec: count(raw.uploadLimitBytesPerSec, 'uploadLimitBytesPerSec', 0, Number.MAX_SAFE_INTEGER),
    alertSmtpUrl: urlSetting(raw.alertSmtpUrl, 'alertSmtpUrl', ['smtp:', 'smtps:'], 'an smtp:// or smtps:// URL'),
    alertEmailTo: email(raw.alertEmailTo, 'alertEmailTo'),
    alertEmailFrom: email(raw.alertEmailFrom, 'alertEmailFrom'),
  }
  if (config.alertSmtpUrl !== null && config.alertEmailTo === null) throw configInvalid('alertSmtpUrl needs alertEmailTo (who gets the alert emails)')
  return Object.freeze({ ...config, webListen: Object.freeze(webListen), peerListen: Object.freeze(peerListen), peers: Object.freeze(config.peers) as string[] })
}
