import type { Sodium } from '../core/ports/sodium.js'
import type { Argon2Params, PasswordKdf } from '../core/ports/password-kdf.js'
import type { DataDir } from '../core/ports/data-dir.js'
import { DEFAULT_ARGON2_PARAMS, MASTER_KEY_BYTES, encodeRecoveryKey, unwrapMasterKey, wrapMasterKey } from '../core/crypto/index.js'
import { decodeIdentityFile, encodeIdentityFile, identityFromSeed, type NodeIdentity } from '../core/identity.js'
import { alreadyInitialized, inputInvalid, keyFileMissing } from '../core/errors.js'

export const MASTER_KEY_FILE = 'master-key.json'
export const IDENTITY_FILE = 'identity.json'
const SECRET_FILE_MODE = 0o600
/** Shorter passphrases are refused: Argon2id slows guessing, it cannot make "1234" safe. */
export const MIN_PASSPHRASE_CHARS = 8

export interface InitResult {
  /** Shown to the owner once; never stored, logged or sent anywhere. */
  recoveryKey: string
  identity: NodeIdentity
}

/** The owner's keys at rest in the data folder: init, unlock, and the node identity. */
export class Keyring {
  constructor(
    private readonly deps: { sodium: Sodium; kdf: PasswordKdf; dataDir: DataDir },
    private readonly argon2: Argon2Params = DEFAULT_ARGON2_PARAMS,
  ) {}

  async isInitialized(): Promise<boolean> {
    return (await this.deps.dataDir.readText(MASTER_KEY_FILE)) !== null
  }

  /**
   * Creates the master key and writes it wrapped under the passphrase (mode 0600). Refuses with
   * ALREADY_INITIALIZED when a key file exists: overwriting it would orphan every backup.
   */
  async init(passphrase: string): Promise<InitResult> {
    if ([...passphrase].length < MIN_PASSPHRASE_CHARS) throw inputInvalid(`the passphrase must have at least ${MIN_PASSPHRASE_CHARS} characters`)
    const { sodium, kdf, dataDir } = this.deps
    if (await this.isInitialized()) throw alreadyInitialized(dataDir.resolve(MASTER_KEY_FILE))
    const master = sodium.randomBytes(MASTER_KEY_BYTES)
    const identity = await this.identity()
    await dataDir.writeNew(MASTER_KEY_FILE, await wrapMasterKey(sodium, kdf, master, passphrase, this.argon2), SECRET_FILE_MODE)
    return { recoveryKey: encodeRecoveryKey(master), identity }
  }

  /**
   * Recovery: keeps a master key typed from the recovery key, wrapped under a new passphrase.
   * Refuses with ALREADY_INITIALIZED when the folder has a key file.
   */
  async adopt(master: Uint8Array, passphrase: string): Promise<void> {
    if ([...passphrase].length < MIN_PASSPHRASE_CHARS) throw inputInvalid(`the passphrase must have at least ${MIN_PASSPHRASE_CHARS} characters`)
    const { sodium, kdf, dataDir } = this.deps
    if (await this.isInitialized()) throw alreadyInitialized(dataDir.resolve(MASTER_KEY_FILE))
    await dataDir.writeNew(MASTER_KEY_FILE, await wrapMasterKey(sodium, kdf, master, passphrase, this.argon2), SECRET_FILE_MODE)
  }

  /** The master key; KEY_FILE_MISSING, PASSPHRASE_WRONG or KEY_FILE_CORRUPT. */
  async unlock(passphrase: string): Promise<Uint8Array> {
    const { sodium, kdf, dataDir } = this.deps
    const text = await dataDir.readText(MASTER_KEY_FILE)
    if (text === null) throw keyFileMissing(dataDir.resolve(MASTER_KEY_FILE))
    return unwrapMasterKey(sodium, kdf, text, passphrase)
  }

  /** The node identity, created on first use. */
  async identity(): Promise<NodeIdentity> {
    const { sodium, dataDir } = this.deps
    const text = await dataDir.readText(IDENTITY_FILE)
    if (text !== null) return decodeIdentityFile(sodium, text)
    const seed = sodium.randomBytes(32)
    await dataDir.writeNew(IDENTITY_FILE, encodeIdentityFile(seed), SECRET_FILE_MODE)
    return identityFromSeed(sodium, seed)
  }
}
