import type { Sodium } from '../ports/sodium.js'
import { KDF_CONTEXT, deriveSubkey } from '../crypto/index.js'

export const GEAR_ENTRIES = 256

/**
 * The FastCDC gear table, keyed per share: entry i is the little-endian u32 at offset 4·i of
 * BLAKE2b-512(key = idKey, "quloud:gear:v1" || 0x00 || u8 block), blocks 0..15 concatenated.
 * With a secret table, chunk boundaries (and so chunk sizes) no longer fingerprint known files.
 */
export function gearTable(sodium: Sodium, idKey: Uint8Array): Uint32Array {
  const table = new Uint32Array(GEAR_ENTRIES)
  for (let block = 0; block < 16; block++) {
    const bytes = deriveSubkey(sodium, idKey, KDF_CONTEXT.GEAR, new Uint8Array([block]), 64)
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    for (let j = 0; j < 16; j++) table[block * 16 + j] = view.getUint32(j * 4, true)
  }
  return table
}
