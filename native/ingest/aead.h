/* XChaCha20-Poly1305-IETF (libsodium's crypto_aead_xchacha20poly1305_ietf_*), bit for bit, on the
 * ChaCha20-Poly1305 of the OpenSSL that Node itself exports (aead.c). */
#ifndef QULOUD_AEAD_H
#define QULOUD_AEAD_H

#include <stddef.h>
#include <stdint.h>

#define AEAD_KEY_BYTES 32
#define AEAD_NONCE_BYTES 24
#define AEAD_TAG_BYTES 16

/* Seals `plain` (plain_len bytes) into `out` (plain_len + 16 bytes: ciphertext, then the tag).
 * `out` may be `plain` itself. Returns 1, or 0 when OpenSSL failed (out is then zeroed). */
int xchacha_seal(uint8_t *out, const uint8_t *plain, size_t plain_len, const uint8_t *ad, size_t ad_len, const uint8_t nonce[AEAD_NONCE_BYTES], const uint8_t key[AEAD_KEY_BYTES]);

/* Opens `sealed` (sealed_len >= 16 bytes) into `out` (sealed_len - 16 bytes); `out` may be
 * `sealed` itself. Returns 1 when the tag verifies; otherwise 0, and `out` is zeroed, so that
 * unauthenticated plaintext is never left behind (libsodium does the same). */
int xchacha_open(uint8_t *out, const uint8_t *sealed, size_t sealed_len, const uint8_t *ad, size_t ad_len, const uint8_t nonce[AEAD_NONCE_BYTES], const uint8_t key[AEAD_KEY_BYTES]);

/* AES-256-GCM (12-byte nonce, 16-byte tag) with the same conventions as xchacha_seal and
 * xchacha_open. */
#define GCM_NONCE_BYTES 12
int gcm_seal(uint8_t *out, const uint8_t *plain, size_t plain_len, const uint8_t *ad, size_t ad_len, const uint8_t nonce[GCM_NONCE_BYTES], const uint8_t key[AEAD_KEY_BYTES]);
int gcm_open(uint8_t *out, const uint8_t *sealed, size_t sealed_len, const uint8_t *ad, size_t ad_len, const uint8_t nonce[GCM_NONCE_BYTES], const uint8_t key[AEAD_KEY_BYTES]);

/* 1 when this CPU computes AES and GCM's multiplication in hardware (x86 AES-NI and PCLMULQDQ,
 * ARMv8 AES and PMULL): AES-256-GCM is then both fast and free of table lookups. */
int gcm_in_hardware(void);

#endif
