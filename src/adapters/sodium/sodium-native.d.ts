// Local typings for the parts of sodium-native 5 we use (its @types package is wrong).
declare module 'sodium-native' {
  type Bytes = Uint8Array
  const sodium: {
    crypto_aead_xchacha20poly1305_ietf_encrypt(c: Bytes, m: Bytes, ad: Bytes | null, nsec: null, npub: Bytes, k: Bytes): number
    /** Throws when the tag does not verify. */
    crypto_aead_xchacha20poly1305_ietf_decrypt(m: Bytes, nsec: null, c: Bytes, ad: Bytes | null, npub: Bytes, k: Bytes): number
    crypto_aead_xchacha20poly1305_ietf_ABYTES: number
    crypto_generichash(out: Bytes, input: Bytes, key?: Bytes): void
    crypto_sign_seed_keypair(pk: Bytes, sk: Bytes, seed: Bytes): void
    crypto_sign_detached(sig: Bytes, m: Bytes, sk: Bytes): void
    crypto_sign_verify_detached(sig: Bytes, m: Bytes, pk: Bytes): boolean
    crypto_sign_PUBLICKEYBYTES: number
    crypto_sign_SECRETKEYBYTES: number
    crypto_sign_BYTES: number
    randombytes_buf(buf: Bytes): void
    sodium_memzero(buf: Bytes): void
  }
  export default sodium
}
