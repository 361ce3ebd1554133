import type { PackId } from '../ids.js'
import { inputInvalid } from '../errors.js'

/**
 * Content store of whole objects (sealed packs), addressed by id. Never sees plaintext.
 * - put() MUST be atomic: a reader sees either no object or all of it, also after a crash.
 * - put() MUST be idempotent: putting an id that exists is a no-op (ids are random or
 *   content-derived, so equal ids mean equal bytes).
 * - get()/getRange()/size() MUST reject with OBJECT_MISSING when the id is absent.
 * - getRange() MUST reject with INPUT_INVALID when the range is negative or ends past the object,
 *   or when `into` is given and is shorter than `length`. With `into`, the bytes are read into it
 *   and the result is a view of its first `length` bytes (no memory of the store's own).
 * - delete() is idempotent.
 * - list() yields each id exactly once, in no particular order.
 * - put()'s `onWritten`, when given, MUST be called at most once, when the store no longer reads
 *   `bytes` (the caller may then reuse that memory), and before put() resolves; put() still
 *   resolves only once the object is durable. A put() that fails may not call it.
 * - openReader(), where a store has it, opens an object once for many range reads (a storage node
 *   serving a range piece by piece): OBJECT_MISSING when absent; each read() checks its range as
 *   getRange() does, against the size the object had when opened; close() is idempotent, and a
 *   read after it rejects. The caller closes it once no read() is pending. A read() given an
 *   `into` at least READ_SLACK_BYTES longer than `length` may place the bytes anywhere in it (the
 *   result is then a view of `length` bytes at that place), so a store can read them from disk in
 *   place where the memory must line up with the file; with less room, as getRange().
 */
export interface PutOptions {
  /** The bytes have been taken (copied or handed to the OS): see the contract above. */
  onWritten?: () => void
}

/** Room beyond `length` that lets ObjectReader.read() place the bytes where it likes (see above). */
export const READ_SLACK_BYTES = 4096

/** An object opened for several range reads (ObjectStore.openReader). */
export interface ObjectReader {
  readonly sizeBytes: number
  read(offset: number, length: number, into?: Uint8Array): Promise<Uint8Array>
  close(): Promise<void>
}

export interface ObjectStore {
  put(id: PackId, bytes: Uint8Array, opts?: PutOptions): Promise<void>
  get(id: PackId): Promise<Uint8Array>
  getRange(id: PackId, offset: number, length: number, into?: Uint8Array): Promise<Uint8Array>
  openReader?(id: PackId): Promise<ObjectReader>
  size(id: PackId): Promise<number>
  has(id: PackId): Promise<boolean>
  delete(id: PackId): Promise<void>
  list(): AsyncIterable<PackId>
}

/** The getRange() argument checks every store makes (INPUT_INVALID), before it looks at the object. */
export function checkRange(offset: number, length: number, into?: Uint8Array): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw inputInvalid('byte range must be non-negative integers')
  }
  if (into !== undefined && into.length < length) throw inputInvalid(`a ${into.length}-byte buffer cannot take ${length} bytes`)
}
