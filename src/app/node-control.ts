import type { Logger } from '../core/ports/logger.js'
import { BackupError, inputInvalid, rethrowIfBug } from '../core/errors.js'
import type { Keyring } from './keyring.js'
import { MIN_PASSPHRASE_CHARS } from './keyring.js'
import type { ProofKeyStore, RunProofSetup } from './proof-keys.js'
import type { AdminAuth } from './admin/admin-auth.js'
import { MIN_ADMIN_PASSWORD_CHARS } from './admin/admin-auth.js'

export interface ProofSetupState {
  state: 'idle' | 'running' | 'done' | 'failed'
  step: number
  steps: number
  label: string
  error: string | null
}

export interface NodeControlDeps {
  keyring: Keyring
  admin: AdminAuth
  proofKeys: ProofKeyStore
  runSetup: RunProofSetup
  /** (Re)starts the owner engine with the master key (after init or unlock). */
  openOwner: (masterKey: Uint8Array) => Promise<void>
  log: Logger
}

/**
 * What the settings page does to the node itself: the first-run setup (admin password, master key,
 * the owner's own proof-key setup in the background) and unlocking a node that started locked.
 * Inputs are checked before anything is written, so a refused setup leaves the folder as it was.
 */
export class NodeControl {
  #setup: ProofSetupState = { state: 'idle', step: 0, steps: 0, label: '', error: null }

  constructor(private readonly deps: NodeControlDeps) {}

  get proofSetup(): ProofSetupState {
    return { ...this.#setup }
  }

  /** The wizard is needed while the node has no master key. */
  async needsSetup(): Promise<boolean> {
    return !(await this.deps.keyring.isInitialized())
  }

  /**
   * Creates the master key under `passphrase` (and sets the admin password when none is set
   * yet), starts the owner engine, and starts the proof-key setup if there are no proof keys.
   * Returns the recovery key: the caller shows it once and keeps it nowhere.
   */
  async initialize(input: { adminPassword?: string; passphrase: string }): Promise<string> {
    const { keyring, admin } = this.deps
    const adminNeeded = !(await admin.isSet())
    if (adminNeeded && (typeof input.adminPassword !== 'string' || [...input.adminPassword].length < MIN_ADMIN_PASSWORD_CHARS)) throw inputInvalid(`the admin password needs at least ${MIN_ADMIN_PASSWORD_CHARS} characters`)
    if (typeof input.passphrase !== 'string' || [...input.passphrase].length < MIN_PASSPHRASE_CHARS) throw inputInvalid(`the key passphrase needs at least ${MIN_PASSPHRASE_CHARS} characters`)
    if (adminNeeded && input.adminPassword === input.passphrase) throw inputInvalid('use a key passphrase other than the admin password: the passphrase protects your keys even from someone who knows the admin password')
    if (await keyring.isInitialized()) throw new BackupError('ALREADY_INITIALIZED', 'this node is set up already')
    if (adminNeeded) await admin.set(input.adminPassword as string)
    const { recoveryKey } = await keyring.init(input.passphrase)
    await this.#startOwner(await keyring.unlock(input.passphrase))
    return recoveryKey
  }

  async unlock(passphrase: string): Promise<void> {
    if (typeof passphrase !== 'string' || passphrase.length === 0) throw inputInvalid('enter the key passphrase')
    await this.#startOwner(await this.deps.keyring.unlock(passphrase))
  }

  async #startOwner(masterKey: Uint8Array): Promise<void> {
    await this.deps.openOwner(masterKey)
    if (!(await this.deps.proofKeys.exists()) && this.#setup.state !== 'running') void this.#runSetup(masterKey)
  }

  /** The owner's own trusted setup (minutes), then the owner engine again, now able to back up. */
  async #runSetup(masterKey: Uint8Array): Promise<void> {
    this.#setup = { state: 'running', step: 0, steps: 1, label: 'starting', error: null }
    try {
      await this.deps.proofKeys.create(this.deps.runSetup, (p) => {
        this.#setup = { ...this.#setup, step: p.step, steps: p.steps, label: p.label }
      })
      await this.deps.openOwner(masterKey)
      this.#setup = { ...this.#setup, state: 'done', step: this.#setup.steps }
    } catch (err) {
      rethrowIfBug(err)
      this.#setup = { ...this.#setup, state: 'failed', error: err instanceof BackupError ? err.code : 'UNKNOWN' }
      this.deps.log.warn({ code: this.#setup.error }, 'The proof-key setup failed; run quloud proof-setup')
    }
  }
}
