import type { DataDir } from '../core/ports/data-dir.js'
import { alreadyInitialized, keyFileCorrupt, keyFileMissing } from '../core/errors.js'

export const PROVING_KEY_FILE = 'proving-key.zkey'
export const VERIFICATION_KEY_FILE = 'verification-key.json'

export interface ProofKeys {
  provingKey: Uint8Array
  verificationKey: Record<string, unknown>
}

export interface ProofSetupProgress {
  step: number
  steps: number
  label: string
}

/** Runs the owner's trusted setup (an adapter: snarkjs). */
export type RunProofSetup = (onProgress: (p: ProofSetupProgress) => void) => Promise<ProofKeys>

/**
 * The owner's Groth16 keys in the data folder. Both are public (stored on peers later for
 * recovery), but the proving key must be the owner's own: it came from the owner's own setup, so
 * nobody holds toxic waste that could forge the owner's proofs.
 */
export class ProofKeyStore {
  constructor(private readonly dataDir: DataDir) {}

  async exists(): Promise<boolean> {
    return (await this.dataDir.readText(VERIFICATION_KEY_FILE)) !== null
  }

  /** Runs the setup and stores its keys; refuses when keys exist (they are pinned by peers). */
  async create(run: RunProofSetup, onProgress: (p: ProofSetupProgress) => void = () => {}): Promise<ProofKeys> {
    if (await this.exists()) throw alreadyInitialized(this.dataDir.resolve(VERIFICATION_KEY_FILE))
    const keys = await run(onProgress)
    await this.dataDir.writeAtomic(PROVING_KEY_FILE, keys.provingKey, 0o600)
    await this.dataDir.writeNew(VERIFICATION_KEY_FILE, JSON.stringify(keys.verificationKey) + '\n', 0o600)
    return keys
  }

  /** Keeps proof keys fetched from peers at recovery (already checked against their hashes). */
  async adopt(provingKey: Uint8Array, verificationKey: Record<string, unknown>): Promise<void> {
    if (await this.exists()) throw alreadyInitialized(this.dataDir.resolve(VERIFICATION_KEY_FILE))
    await this.dataDir.writeAtomic(PROVING_KEY_FILE, provingKey, 0o600)
    await this.dataDir.writeNew(VERIFICATION_KEY_FILE, JSON.stringify(verificationKey) + '\n', 0o600)
  }

  /** The verification key as peers receive it: its JSON, serialised the one way this program does. */
  async verificationKeyBytes(): Promise<Uint8Array> {
    return new TextEncoder().encode(JSON.stringify(await this.verificationKey()))
  }

  async provingKey(): Promise<Uint8Array> {
    const bytes = await this.dataDir.readBytes(PROVING_KEY_FILE)
    if (bytes === null) throw keyFileMissing(this.dataDir.resolve(PROVING_KEY_FILE))
    return bytes
  }

  async verificationKey(): Promise<Record<string, unknown>> {
    const text = await this.dataDir.readText(VERIFICATION_KEY_FILE)
    if (text === null) throw keyFileMissing(this.dataDir.resolve(VERIFICATION_KEY_FILE))
    try {
      return JSON.parse(text)
    } catch {
      throw keyFileCorrupt(`${VERIFICATION_KEY_FILE} is not valid JSON`)
    }
  }
}
