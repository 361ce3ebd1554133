import { createRequire } from 'node:module'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { allocateShared } from '../../core/pack/index.js'

/** The C versions of ingest's hot loops (native/ingest/ingest.c): the same results as core's. */
export interface NativeIngest {
  /**
   * Gives the C heap's free pages back to the system (glibc's malloc_trim(0), every arena); true
   * when some were given back. Without glibc it does nothing and returns false.
   */
  trimMemory(): boolean
  /** core/chunking findCut(); masks as unsigned words. */
  gearCut(gear: Int32Array, data: Uint8Array, start: number, end: number, minBytes: number, avgBytes: number, maxBytes: number, small: number, large: number): number
  /** core/audit merkleRoot(), with OpenSSL's SHA-256. */
  merkleRoot(object: Uint8Array): Uint8Array
  /**
   * The same root, computed on the libuv thread pool. Bytes in a SharedArrayBuffer are read in
   * place and must not change until it settles; others are copied first.
   */
  merkleRootAsync(object: Uint8Array): Promise<Uint8Array>
  /**
   * Writes all of `bytes` at offset 0 of the open file `fd` on the libuv thread pool: when `fd`
   * has O_DIRECT, whole aligned blocks go past the page cache and the rest through it. Resolves
   * with the bytes that went direct; rejects with an Error whose `code` is the errno name. Shared
   * bytes are read in place and must not change until it settles; others are copied first.
   */
  writeAll(fd: number, bytes: Uint8Array): Promise<number>
  /**
   * Writes all of `bytes` at `offset` of an open file on the libuv thread pool. `directFd` (or -1)
   * is a second descriptor of the same file opened with O_DIRECT: the whole aligned blocks inside
   * the range go through it, past the page cache, and the partial blocks at either end (all of
   * it without one, or when the file system refuses) through `fd`. Resolves with the bytes that
   * went direct; rejects like writeAll. Bytes not in shared memory are copied first.
   */
  writeAt(fd: number, directFd: number, offset: number, bytes: Uint8Array): Promise<number>
  /**
   * Reads bytes [offset, offset + into.length) of an open file into `into` on the libuv thread
   * pool; resolves with how many it read (fewer only at the end of the file). When `fd` has
   * O_DIRECT, aligned blocks covering the range are read past the page cache and copied out.
   * As with fs.read, `into` must not be touched until it settles. Rejects like writeAll.
   */
  readAt(fd: number, offset: number, into: Uint8Array): Promise<number>
  /**
   * fchmod(mode), both times set to mtimeMs, close(fd) (always), then rename(from, to), in one
   * trip to the libuv thread pool. Rejects with an Error whose `code` is the errno name and whose
   * message names the failed step.
   */
  finishFile(fd: number, mode: number, mtimeMs: number, from: string, to: string): Promise<void>
  /**
   * A whole restored file in one trip to the libuv thread pool: creates `from` (exclusive, never
   * through a symlink, mode 0600), writes `bytes`, sets mode and both times, closes it and renames
   * it to `to`; on any failure `from` is removed again. Bytes not in shared memory are copied
   * before it returns. Rejects like finishFile.
   */
  writeFile(from: string, to: string, bytes: Uint8Array, mode: number, mtimeMs: number): Promise<void>
  /** target.set(source, offset) as one memcpy, also between shared buffers (TypeError if it does not fit). */
  copy(target: Uint8Array, offset: number, source: Uint8Array): void
  /**
   * XChaCha20-Poly1305-IETF sealing, byte for byte libsodium's, on Node's OpenSSL: `out` is
   * plain.length + 16 bytes (ciphertext, then tag). TypeError on wrong sizes.
   */
  xchachaSeal(out: Uint8Array, plain: Uint8Array, ad: Uint8Array, nonce: Uint8Array, key: Uint8Array): void
  /**
   * Opens what xchachaSeal (or libsodium) sealed into `out` (sealed.length - 16 bytes): false, with
   * `out` zeroed, when the tag does not verify. TypeError on wrong sizes.
   */
  xchachaOpen(out: Uint8Array, sealed: Uint8Array, ad: Uint8Array, nonce: Uint8Array, key: Uint8Array): boolean
  /** AES-256-GCM on Node's OpenSSL, as xchachaSeal (nonce 12 bytes). TypeError on wrong sizes. */
  gcmSeal(out: Uint8Array, plain: Uint8Array, ad: Uint8Array, nonce: Uint8Array, key: Uint8Array): void
  /** Opens what gcmSeal sealed, as xchachaOpen: false, with `out` zeroed, when the tag does not verify. */
  gcmOpen(out: Uint8Array, sealed: Uint8Array, ad: Uint8Array, nonce: Uint8Array, key: Uint8Array): boolean
  /** Whether this CPU has AES and carry-less multiplication instructions (AES-NI and PCLMULQDQ, or ARMv8's AES and PMULL). */
  gcmInHardware(): boolean
  /** Bytes from bytes[0] to the next 4 KiB boundary of memory (0 when it is on one). */
  pageGap(bytes: Uint8Array): number
}

/** Memory alignment that direct I/O needs (native/ingest DIRECT_ALIGN). */
export const PAGE_BYTES = 4096

/**
 * Shared memory whose first byte is on a 4 KiB boundary when the C module is built (writeAll then
 * sends it to disk in place, no bounce copy); plain allocateShared() otherwise. Backing stores of
 * shared buffers never move, so the alignment holds for the buffer's life.
 */
export function allocateAlignedShared(bytes: number): Uint8Array {
  const native = nativeIngest()
  if (!native) return allocateShared(bytes)
  const sab = new SharedArrayBuffer(bytes + PAGE_BYTES)
  const gap = native.pageGap(new Uint8Array(sab, 0, 1))
  return new Uint8Array(sab, gap, bytes)
}

/** Where `npm install` builds the module. */
export const NATIVE_INGEST_PATH = fileURLToPath(new URL('../../../native/ingest/build/Release/quloud_ingest.node', import.meta.url))

let loaded: NativeIngest | null | undefined

/**
 * The native ingest loops, or null when they were not built (no compiler at install time) or
 * QULOUD_NATIVE_INGEST=0 turns them off (read on each call); ingest then runs core's TypeScript,
 * about half as fast.
 */
export function nativeIngest(): NativeIngest | null {
  if (process.env.QULOUD_NATIVE_INGEST === '0') return null
  if (loaded === undefined) loaded = existsSync(NATIVE_INGEST_PATH) ? (createRequire(import.meta.url)(NATIVE_INGEST_PATH) as NativeIngest) : null
  return loaded
}
