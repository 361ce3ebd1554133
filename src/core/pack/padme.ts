/**
 * Padmé padding (Nikitin et al., "Reducing Metadata Leakage from Encrypted Files and
 * Communication with PURBs", 2019): pads L to a length whose low bits are zero, leaking only
 * O(log log L) bits of L with at most 12% overhead. Storage nodes thus learn almost nothing about
 * how much data a pack really holds.
 */
export function padmeLength(length: number): number {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError('length must be a non-negative integer')
  if (length < 2) return length
  const e = Math.floor(Math.log2(length))
  const s = Math.floor(Math.log2(e)) + 1
  const lastBits = e - s
  const unit = 2 ** lastBits
  return Math.ceil(length / unit) * unit
}
