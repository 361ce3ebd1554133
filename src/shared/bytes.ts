/** Byte helpers on plain Uint8Array (no Buffer), usable from every layer. */

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/** The two ASCII digits of each byte value, side by side. */
const HEX_ASCII = new Uint8Array(512)
HEX.forEach((h, i) => HEX_ASCII.set([h.charCodeAt(0), h.charCodeAt(1)], i * 2))
const ASCII = new TextDecoder('latin1')
let hexScratch = new Uint8Array(128)

/**
 * Lower-case hex. The digits are written as ASCII bytes and decoded in one call: ids are turned
 * into map keys by the hundred thousand in a rescan, and string concatenation was 4× slower.
 */
export function toHex(bytes: Uint8Array): string {
  const n = bytes.length
  // The scratch grows to the largest id-sized input; a big one gets its own array.
  if (hexScratch.length < n * 2 && n <= 4096) hexScratch = new Uint8Array(n * 2)
  const out = hexScratch.length >= n * 2 ? hexScratch : new Uint8Array(n * 2)
  for (let i = 0; i < n; i++) {
    const at = (bytes[i] as number) * 2
    out[i * 2] = HEX_ASCII[at] as number
    out[i * 2 + 1] = HEX_ASCII[at + 1] as number
  }
  return ASCII.decode(out.subarray(0, n * 2))
}

/** Each ASCII code's hex digit value, or -1. */
const HEX_VALUE = new Int8Array(128).fill(-1)
for (let i = 0; i < 16; i++) {
  HEX_VALUE[i.toString(16).charCodeAt(0)] = i
  HEX_VALUE[i.toString(16).toUpperCase().charCodeAt(0)] = i
}

/**
 * Parses lower- or upper-case hex; returns null for odd length or a non-hex character. A table
 * lookup per digit: manifests hold two ids per chunk, thousands per folder.
 */
export function fromHex(text: string): Uint8Array | null {
  if (text.length % 2 !== 0) return null
  const out = new Uint8Array(text.length / 2)
  for (let i = 0; i < out.length; i++) {
    const hi = text.charCodeAt(2 * i)
    const lo = text.charCodeAt(2 * i + 1)
    const h = hi < 128 ? (HEX_VALUE[hi] as number) : -1
    const l = lo < 128 ? (HEX_VALUE[lo] as number) : -1
    if ((h | l) < 0) return null
    out[i] = (h << 4) | l
  }
  return out
}

/** First 8 hex characters: enough to tell ids apart in messages and logs. */
export function shortHex(bytes: Uint8Array): string {
  return toHex(bytes.subarray(0, 4))
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0
  for (const p of parts) total += p.length
  const out = new Uint8Array(total)
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number)
  return diff === 0
}

export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text)
}

export function writeU32LE(target: Uint8Array, offset: number, value: number): void {
  new DataView(target.buffer, target.byteOffset, target.byteLength).setUint32(offset, value, true)
}

export function readU32LE(source: Uint8Array, offset: number): number {
  return new DataView(source.buffer, source.byteOffset, source.byteLength).getUint32(offset, true)
}

/** Writes an unsigned integer below 2^53 as 8 little-endian bytes. */
export function writeU64LE(target: Uint8Array, offset: number, value: number): void {
  const view = new DataView(target.buffer, target.byteOffset, target.byteLength)
  view.setUint32(offset, value % 0x1_0000_0000, true)
  view.setUint32(offset + 4, Math.floor(value / 0x1_0000_0000), true)
}

/** Reads 8 little-endian bytes; returns null when the value does not fit a safe integer. */
export function readU64LE(source: Uint8Array, offset: number): number | null {
  const view = new DataView(source.buffer, source.byteOffset, source.byteLength)
  const lo = view.getUint32(offset, true)
  const hi = view.getUint32(offset + 4, true)
  if (hi > 0x1f_ffff) return null
  return hi * 0x1_0000_0000 + lo
}

export function u64LE(value: number): Uint8Array {
  const out = new Uint8Array(8)
  writeU64LE(out, 0, value)
  return out
}

export function toBase64(bytes: Uint8Array): string {
  let bin = ''
  for (const b of bytes) bin += String.fromCharCode(b)
  return btoa(bin)
}

/** Strict standard base64 (with padding); returns null for anything else. */
export function fromBase64(text: string): Uint8Array | null {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) return null
  const bin = atob(text)
  const out = new Uint8Array(bin.length)
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
  return out
}
