import { createRequire } from 'node:module'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** The C versions of ingest's hot loops (native/ingest/ingest.c): the same results as core's. */
export interface NativeIngest {
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
   * fchmod(mode), both times set to mtimeMs, close(fd) (always), then rename(from, to), in one
   * trip to the libuv thread pool. Rejects with an Error whose `code` is the errno name and whose
   * message names the failed step.
   */
  finishFile(fd: number, mode: number, mtimeMs: number, from: string, to: string): Promise<void>
  /** target.set(source, offset) as one memcpy, also between shared buffers (TypeError if it does not fit). */
  copy(target: Uint8Array, offset: number, source: Uint8Array): void
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
