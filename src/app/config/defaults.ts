/** The node's configuration: one typed shape, one literal of defaults (units in names). */
export interface ListenAddress {
  host: string
  /** TCP port; 0 picks a free one (tests). */
  port: number
}

export interface DaemonConfig {
  /** Config format version, migrated by migrate.ts. */
  version: 1
  /** Private folder: keys, identity, index, spool, API token. */
  dataDir: string
  /** Settings page and local JSON API. */
  webListen: ListenAddress
  /** Federation protocol (HTTPS) for other nodes. */
  peerListen: ListenAddress
  /** LAN discovery; on in the NAS packages, off elsewhere. */
  ssdp: boolean
  /** Bootstrap peers (https URLs). */
  peers: string[]
  /** File holding the key passphrase; without it the node starts locked. */
  passphraseFile: string | null
  logLevel: 'debug' | 'info' | 'warn' | 'error'
  /** Space this node offers to other owners, in total. */
  storageCapacityBytes: number
  /** Space one other owner may use here. */
  storagePerOwnerBytes: number
  /** How often interrupted backups and shares short of copies are retried. */
  catchUpSeconds: number
  /** Quiet time after the last change in a watched share before its backup starts. */
  watchDebounceSeconds: number
  /** When audit rounds run (cron, five fields); each checks every replica and repairs. */
  auditSchedule: string
  /** How long a peer has to answer one audit request. */
  auditDeadlineSeconds: number
  /** Storage side: an owner that has not renewed for this long loses its objects here. */
  leaseDays: number
  /** How often known peers are asked for the peers they know (and told about this node). */
  peerExchangeSeconds: number
  /** Folders under which shares may be added (absolute paths); empty: any folder. */
  shareRoots: string[]
  /** Where alerts are POSTed as JSON (http or https URL); null: no alerts. */
  alertWebhook: string | null
  /** An alert when a share had no successful backup for this long. */
  alertBackupWindowHours: number
  /** Alerts by email: smtp:// (STARTTLS when offered) or smtps:// URL with credentials; null: none. */
  alertSmtpUrl: string | null
  /** Who gets alert emails (needed with alertSmtpUrl). */
  alertEmailTo: string | null
  /** The sender of alert emails (default quloud@localhost). */
  alertEmailFrom: string | null
  /** Upload limit to peers, bytes per second; 0: none. */
  uploadLimitBytesPerSec: number
}

export const CONFIG_VERSION = 1

export const DEFAULTS: Readonly<DaemonConfig> = Object.freeze({
  version: CONFIG_VERSION,
  dataDir: './quloud-data',
  // Loopback only by default: nothing is exposed until the owner chooses to.
  webListen: { host: '127.0.0.1', port: 30480 },
  peerListen: { host: '127.0.0.1', port: 30481 },
  ssdp: false,
  peers: [],
  passphraseFile: null,
  logLevel: 'info',
  storageCapacityBytes: 10 * 1024 ** 3,
  storagePerOwnerBytes: 2 * 1024 ** 3,
  catchUpSeconds: 60,
  watchDebounceSeconds: 5,
  auditSchedule: '30 4 * * *',
  auditDeadlineSeconds: 30,
  leaseDays: 90,
  peerExchangeSeconds: 600,
  shareRoots: [],
  alertWebhook: null,
  alertBackupWindowHours: 48,
  uploadLimitBytesPerSec: 0,
  alertSmtpUrl: null,
  alertEmailTo: null,
  alertEmailFrom: null,
} as const satisfies DaemonConfig) as Readonly<DaemonConfig>
