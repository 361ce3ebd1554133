/**
 * Pack buffers in shared memory, so helper threads can hash a sealed pack (its Merkle tree)
 * without a copy. SharedArrayBuffer is a language feature, not I/O.
 */
export function allocateShared(bytes: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(bytes))
}
