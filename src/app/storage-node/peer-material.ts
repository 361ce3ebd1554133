import type { DataDir } from '../../core/ports/data-dir.js'
import type { Sodium } from '../../core/ports/sodium.js'
import { keyFileCorrupt } from '../../core/errors.js'
import { fromBase64, toBase64 } from '../../shared/bytes.js'

export const STORAGE_KEY_FILE = 'storage-key.json'
export const TLS_FILE = 'peer-tls.json'

export interface TlsPems {
  certPem: string
  keyPem: string
}

/**
 * The storage node's own secrets, kept in the data folder (0600) because a storage node must run
 * unattended, without the owner's passphrase: the random storage key of its at-rest layer, and
 * its TLS certificate and key. Made on first use; never replaced once written.
 */
export async function loadOrCreateStorageKey(sodium: Sodium, dataDir: DataDir): Promise<Uint8Array> {
  const text = await dataDir.readText(STORAGE_KEY_FILE)
  if (text === null) {
    const key = sodium.randomBytes(32)
    await dataDir.writeNew(STORAGE_KEY_FILE, `${JSON.stringify({ format: 'quloud-storage-key', version: 1, key: toBase64(key) }, null, 2)}\n`, 0o600)
    return key
  }
  let doc: { format?: unknown; version?: unknown; key?: unknown }
  try {
    doc = JSON.parse(text)
  } catch {
    throw keyFileCorrupt(`${STORAGE_KEY_FILE} is not valid JSON`)
  }
  const key = doc.format === 'quloud-storage-key' && doc.version === 1 && typeof doc.key === 'string' ? fromBase64(doc.key) : null
  if (!key || key.length !== 32) throw keyFileCorrupt(`${STORAGE_KEY_FILE} is not a version 1 storage key`)
  return key
}

export async function loadOrCreateTls(dataDir: DataDir, make: () => Promise<TlsPems>): Promise<TlsPems> {
  const text = await dataDir.readText(TLS_FILE)
  if (text === null) {
    const pems = await make()
    await dataDir.writeNew(TLS_FILE, `${JSON.stringify({ format: 'quloud-peer-tls', version: 1, ...pems }, null, 2)}\n`, 0o600)
    return pems
  }
  try {
    const doc = JSON.parse(text)
    if (doc.format === 'quloud-peer-tls' && doc.version === 1 && typeof doc.certPem === 'string' && typeof doc.keyPem === 'string') return { certPem: doc.certPem, keyPem: doc.keyPem }
  } catch {
    // reported below
  }
  throw keyFileCorrupt(`${TLS_FILE} is not a version 1 TLS file`)
}
