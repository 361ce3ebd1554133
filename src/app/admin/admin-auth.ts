import type { PasswordKdf, Argon2Params } from '../../core/ports/password-kdf.js'
import type { DataDir } from '../../core/ports/data-dir.js'
import type { Sodium } from '../../core/ports/sodium.js'
import { BackupError, inputInvalid } from '../../core/errors.js'
import { bytesEqual, fromBase64, toBase64 } from '../../shared/bytes.js'

export const ADMIN_FILE = 'admin.json'
export const MIN_ADMIN_PASSWORD_CHARS = 8
/** Argon2id for the admin password: the same cost as the key file (about 44 ms here). */
export const ADMIN_ARGON2: Readonly<Argon2Params> = Object.freeze({ memoryKiB: 64 * 1024, iterations: 3, parallelism: 1 })

interface AdminFile {
  format: 'quloud-admin'
  version: 1
  salt: string
  hash: string
  params: Argon2Params
}

/**
 * The settings page's admin password: an Argon2id hash with a random salt in DATA/admin.json
 * (mode 0600), never the password. The NAS templates may pass one in QULOUD_ADMIN_PASSWORD; it
 * is hashed at start when no password is set yet, and the variable is then not needed.
 */
export class AdminAuth {
  constructor(private readonly deps: { sodium: Sodium; kdf: PasswordKdf; dataDir: DataDir }) {}

  async isSet(): Promise<boolean> {
    return (await this.deps.dataDir.readText(ADMIN_FILE)) !== null
  }

  async set(password: string): Promise<void> {
    if (typeof password !== 'string' || [...password].length < MIN_ADMIN_PASSWORD_CHARS) throw inputInvalid(`the admin password needs at least ${MIN_ADMIN_PASSWORD_CHARS} characters`)
    if (password.length > 1024) throw inputInvalid('the admin password is too long')
    const salt = this.deps.sodium.randomBytes(16)
    const hash = await this.deps.kdf.derive(password, salt, ADMIN_ARGON2, 32)
    const doc: AdminFile = { format: 'quloud-admin', version: 1, salt: toBase64(salt), hash: toBase64(hash), params: { ...ADMIN_ARGON2 } }
    await this.deps.dataDir.writeAtomic(ADMIN_FILE, JSON.stringify(doc, null, 2) + '\n', 0o600)
  }

  /** Whether the password is the admin's; false when none is set. Costs one Argon2id either way. */
  async verify(password: string): Promise<boolean> {
    const doc = await this.#read()
    const salt = doc ? doc.salt : new Uint8Array(16)
    const hash = await this.deps.kdf.derive(typeof password === 'string' ? password.slice(0, 1024) : '', salt, doc?.params ?? ADMIN_ARGON2, 32)
    return doc !== null && bytesEqual(hash, doc.hash)
  }

  async #read(): Promise<{ salt: Uint8Array; hash: Uint8Array; params: Argon2Params } | null> {
    const text = await this.deps.dataDir.readText(ADMIN_FILE)
    if (text === null) return null
    try {
      const d = JSON.parse(text) as AdminFile
      const p = d.params
      const salt = typeof d.salt === 'string' ? fromBase64(d.salt) : null
      const hash = typeof d.hash === 'string' ? fromBase64(d.hash) : null
      if (d.format === 'quloud-admin' && d.version === 1 && salt && salt.length === 16 && hash && hash.length === 32 && Number.isInteger(p?.memoryKiB) && p.memoryKiB >= 8 * 1024 && p.memoryKiB <= 1024 * 1024 && Number.isInteger(p.iterations) && p.iterations >= 1 && p.iterations <= 10 && p.parallelism === 1) return { salt, hash, params: p }
    } catch {
      // fall through
    }
    throw new BackupError('KEY_FILE_CORRUPT', `${ADMIN_FILE} is damaged: remove it to set a new admin password at the next start`)
  }
}
