/**
 * Memory-hard key derivation from a passphrase (Argon2id).
 * - derive() MUST be deterministic in (passphrase, salt, params).
 * - It MUST NOT log or retain the passphrase.
 */
export interface Argon2Params {
  /** Memory cost in KiB. */
  memoryKiB: number
  /** Passes over memory. */
  iterations: number
  /** Lanes. */
  parallelism: number
}

export interface PasswordKdf {
  derive(passphrase: string, salt: Uint8Array, params: Argon2Params, outputBytes: number): Promise<Uint8Array>
}
