import sodium from 'sodium-native'
import { createCipheriv, createDecipheriv, createHash, createHmac, hash } from 'node:crypto'
import type { Sha256Incremental, Sodium } from '../../core/ports/sodium.js'
import { nativeIngest } from './native-ingest.js'

const TAG_BYTES = 16
const EMPTY = new Uint8Array(0)
const SCRATCH_BYTES = 64 * 1024

function fresh(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
}

type Seal = (out: Uint8Array, plaintext: Uint8Array, ad: Uint8Array, nonce: Uint8Array, key: Uint8Array) => void
type Open = (out: Uint8Array, sealed: Uint8Array, ad: Uint8Array, nonce: Uint8Array, key: Uint8Array) => boolean

const sodiumSeal: Seal = (out, plaintext, ad, nonce, key) => void sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(out, plaintext, ad, null, nonce, key)
const sodiumOpen: Open = (out, sealed, ad, nonce, key) => {
  try {
    sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(out, null, sealed, ad.length === 0 ? EMPTY : ad, nonce, key)
    return true
  } catch {
    // sodium-native signals a failed tag by throwing.
    return false
  }
}

const gcmWithNodeCrypto: { seal: Seal; open: Open } = {
  seal: (out, plaintext, ad, nonce, key) => {
    const c = createCipheriv('aes-256-gcm', key, nonce)
    c.setAAD(ad)
    out.set(c.update(plaintext), 0)
    c.final()
    out.set(c.getAuthTag(), plaintext.length)
  },
  open: (out, sealed, ad, nonce, key) => {
    const d = createDecipheriv('aes-256-gcm', key, nonce)
    d.setAAD(ad)
    d.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES))
    const plain = d.update(sealed.subarray(0, sealed.length - TAG_BYTES))
    try {
      d.final()
    } catch {
      return false // the tag does not verify: nothing is handed out
    }
    out.set(plain, 0)
    return true
  },
}

/** An AEAD's sealInto() and open() as the Sodium port has them, on its seal and open calls. */
function aeadOn(seal: Seal, open: Open, nonceBytes: number) {
  return {
    sealInto(out: Uint8Array, offset: number, key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): number {
      const target = out.subarray(offset, offset + plaintext.length + TAG_BYTES)
      seal(target, plaintext, ad, nonce, key)
      return target.length
    },
    open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, ad: Uint8Array, into?: Uint8Array): Uint8Array | null {
      if (sealed.length < TAG_BYTES || nonce.length !== nonceBytes || key.length !== 32) return null
      if (into && into.length !== sealed.length - TAG_BYTES) return null
      const out = into ?? new Uint8Array(sealed.length - TAG_BYTES)
      // The port contract for a failed tag is null.
      return open(out, sealed, ad, nonce, key) ? out : null
    },
  }
}

function gcmOn(native: ReturnType<typeof nativeIngest>): NonNullable<Sodium['aesGcm']> {
  const seal: Seal = native ? (out, plaintext, ad, nonce, key) => native.gcmSeal(out, plaintext, ad, nonce, key) : gcmWithNodeCrypto.seal
  const open: Open = native ? (out, sealed, ad, nonce, key) => native.gcmOpen(out, sealed, ad, nonce, key) : gcmWithNodeCrypto.open
  return { inHardware: native?.gcmInHardware() ?? false, ...aeadOn(seal, open, 12) }
}

/**
 * The Sodium port on libsodium (sodium-native) for BLAKE2b, Ed25519 and randomness, and on
 * node:crypto for SHA-256 and HMAC-SHA-256, which OpenSSL accelerates in hardware (2.0 GB/s
 * measured here against 0.75 GB/s for BLAKE2b): chunk ids and Merkle trees are on the hot path.
 * XChaCha20-Poly1305 is libsodium's, or, when native/ingest was built, the same construction on
 * Node's OpenSSL (byte for byte the same output; 4.4 GB/s against libsodium's 1.8 here): every
 * byte backed up or restored goes through it once at the owner and once at each storage node.
 */
export class SodiumNativeCrypto implements Sodium {
  readonly #scratch = new Uint8Array(SCRATCH_BYTES)
  readonly #seal: Seal
  readonly #xchacha: ReturnType<typeof aeadOn>
  /** The whole Merkle tree in C (native/ingest), when it was built: about twice the speed. */
  readonly merkleRoot?: (object: Uint8Array) => Uint8Array

  /**
   * AES-256-GCM with the C module (storage nodes' at-rest layer, docs/FORMAT.md §9), else on
   * node:crypto (the same OpenSSL, a little slower per call): readers have it either way.
   */
  readonly aesGcm: NonNullable<Sodium['aesGcm']>

  /** `useNative: false` keeps libsodium's AEAD even when the C module is there (tests compare the two). */
  constructor(options: { useNative?: boolean } = {}) {
    const native = options.useNative === false ? null : nativeIngest()
    if (native) this.merkleRoot = (object) => native.merkleRoot(object)
    this.aesGcm = gcmOn(native)
    this.#seal = native ? (out, plaintext, ad, nonce, key) => native.xchachaSeal(out, plaintext, ad, nonce, key) : sodiumSeal
    this.#xchacha = aeadOn(this.#seal, native ? (out, sealed, ad, nonce, key) => native.xchachaOpen(out, sealed, ad, nonce, key) : sodiumOpen, 24)
  }

  aeadSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
    const out = new Uint8Array(plaintext.length + TAG_BYTES)
    this.#seal(out, plaintext, ad, nonce, key)
    return out
  }

  aeadSealInto(out: Uint8Array, offset: number, key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): number {
    return this.#xchacha.sealInto(out, offset, key, nonce, plaintext, ad)
  }

  aeadOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, ad: Uint8Array, into?: Uint8Array): Uint8Array | null {
    return this.#xchacha.open(key, nonce, sealed, ad, into)
  }

  blake2b(input: Uint8Array, outputBytes: number, key?: Uint8Array): Uint8Array {
    const out = new Uint8Array(outputBytes)
    if (key) sodium.crypto_generichash(out, input, key)
    else sodium.crypto_generichash(out, input)
    return out
  }

  sha256(input: Uint8Array): Uint8Array {
    return fresh(hash('sha256', input, 'buffer') as unknown as Buffer)
  }

  sha256Incremental(): Sha256Incremental {
    const h = createHash('sha256')
    return {
      update: (piece) => void h.update(piece),
      digest: () => fresh(h.digest()),
    }
  }

  sha256Parts(parts: readonly Uint8Array[]): Uint8Array {
    let total = 0
    for (const p of parts) total += p.length
    if (total > SCRATCH_BYTES) {
      const h = createHash('sha256')
      for (const p of parts) h.update(p)
      return fresh(h.digest())
    }
    // Small inputs (Merkle leaves and nodes): one copy into a scratch buffer and a one-shot hash
    // cost far less than a Hash object per call, which dominated Merkle trees of 16 MiB packs.
    let at = 0
    for (const p of parts) {
      this.#scratch.set(p, at)
      at += p.length
    }
    return this.sha256(this.#scratch.subarray(0, at))
  }

  hmacSha256(key: Uint8Array, input: Uint8Array): Uint8Array {
    return fresh(createHmac('sha256', key).update(input).digest())
  }

  signKeyPairFromSeed(seed: Uint8Array): { publicKey: Uint8Array; secretKey: Uint8Array } {
    const publicKey = new Uint8Array(sodium.crypto_sign_PUBLICKEYBYTES)
    const secretKey = new Uint8Array(sodium.crypto_sign_SECRETKEYBYTES)
    sodium.crypto_sign_seed_keypair(publicKey, secretKey, seed)
    return { publicKey, secretKey }
  }

  sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
    const sig = new Uint8Array(sodium.crypto_sign_BYTES)
    sodium.crypto_sign_detached(sig, message, secretKey)
    return sig
  }

  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
    if (signature.length !== sodium.crypto_sign_BYTES || publicKey.length !== sodium.crypto_sign_PUBLICKEYBYTES) return false
    return sodium.crypto_sign_verify_detached(signature, message, publicKey)
  }

  randomBytes(length: number): Uint8Array {
    const out = new Uint8Array(length)
    if (length > 0) sodium.randombytes_buf(out)
    return out
  }
}
