/**
 * Pack (object) format v1; docs/FORMAT.md has the byte-by-byte picture.
 *
 *   [chunk envelopes] [header envelope] [random padding] [trailer]
 *
 * - chunk envelope: see crypto/envelope.ts (AD binds the chunk id).
 * - header envelope: nonce (24) || XChaCha20-Poly1305(packKey, AD = 0x02 || pack id) of
 *     u32 format version || u32 entry count || entries of
 *     (chunk id 32 || u64 offset || u32 sealed length || u32 plain length)
 * - padding: random bytes so the total length is padmeLength(unpadded length); random, not zero,
 *   or a storage node could see where the data ends.
 * - trailer (fixed 56 bytes, last in the object): nonce (24) || XChaCha20-Poly1305(packKey,
 *   AD = 0x03 || pack id) of u64 header offset || u32 header envelope length || u32 format version.
 *   Fixed size and encrypted, so not even the number of chunks shows.
 * Every length is little-endian. The pack id is random and not stored inside the pack; binding it
 * in the header and trailer AD means a pack served under another id fails.
 */
export const PACK_FORMAT_VERSION = 1
export const PACK_TARGET_BYTES = 16 * 1024 * 1024
/** Largest object a reader accepts: target + one maximal chunk + header, padded, with margin. */
export const PACK_MAX_BYTES = 24 * 1024 * 1024
export const PACK_NONCE_BYTES = 24
export const PACK_TAG_BYTES = 16
export const PACK_HEADER_AD_TAG = 0x02
export const PACK_TRAILER_AD_TAG = 0x03
export const PACK_ENTRY_BYTES = 32 + 8 + 4 + 4
export const PACK_HEADER_FIXED_BYTES = 8
export const PACK_TRAILER_PLAIN_BYTES = 16
export const PACK_TRAILER_BYTES = PACK_NONCE_BYTES + PACK_TRAILER_PLAIN_BYTES + PACK_TAG_BYTES
