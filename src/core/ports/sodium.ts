/**
 * The cryptographic primitives the core needs. Implemented with libsodium (sodium-native) and,
 * for SHA-256/HMAC-SHA-256, the platform's hardware-accelerated implementation.
 *
 * - Every function is synchronous and deterministic except randomBytes().
 * - aeadOpen() MUST return null (never throw) when authentication fails: untrusted bytes that fail
 *   authentication are an expected condition, converted to a coded error by the caller.
 * - Outputs are fresh arrays the caller owns.
 */
export interface Sha256Incremental {
  update(piece: Uint8Array): void
  /** The hash of every piece given; the hasher is spent afterwards. */
  digest(): Uint8Array
}

export interface Sodium {
  /** XChaCha20-Poly1305-IETF; key 32 bytes, nonce 24 bytes; returns ciphertext || 16-byte tag. */
  aeadSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array
  /** aeadSeal() writing ciphertext || tag into out[offset…]; returns the bytes written. */
  aeadSealInto(out: Uint8Array, offset: number, key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): number
  /**
   * Inverse of aeadSeal(); null when the tag does not verify. With `into` (exactly the plaintext's
   * length, else null), the plaintext is written there and `into` returned; after a failed tag its
   * content is unspecified.
   */
  aeadOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, ad: Uint8Array, into?: Uint8Array): Uint8Array | null
  /**
   * Optional: AES-256-GCM (key 32 bytes, nonce 12 bytes, output ciphertext || 16-byte tag), with
   * sealInto() and open() as aeadSealInto() and aeadOpen(). `inHardware`: this CPU has AES and
   * carry-less multiplication instructions, so it is fast and free of table lookups; a writer
   * chooses it only then, a reader uses it whenever it is present.
   */
  aesGcm?: {
    readonly inHardware: boolean
    sealInto(out: Uint8Array, offset: number, key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): number
    open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, ad: Uint8Array, into?: Uint8Array): Uint8Array | null
  }
  /** BLAKE2b with outputBytes in 16..64, optionally keyed (key 16..64 bytes). */
  blake2b(input: Uint8Array, outputBytes: number, key?: Uint8Array): Uint8Array
  sha256(input: Uint8Array): Uint8Array
  /** SHA-256 over the concatenation of parts, without copying them together. */
  sha256Parts(parts: readonly Uint8Array[]): Uint8Array
  /** SHA-256 of bytes that arrive piece by piece (an object read from disk): update(), then digest() once. */
  sha256Incremental(): Sha256Incremental
  hmacSha256(key: Uint8Array, input: Uint8Array): Uint8Array
  /**
   * Optional: core/audit's merkleRoot() of a non-empty object computed whole by faster code (it
   * MUST equal the TypeScript tree's root). merkleRoot() uses it when present.
   */
  merkleRoot?(object: Uint8Array): Uint8Array
  /** Ed25519 key pair from a 32-byte seed. */
  signKeyPairFromSeed(seed: Uint8Array): { publicKey: Uint8Array; secretKey: Uint8Array }
  sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean
  randomBytes(length: number): Uint8Array
}
