/**
 * The folder a restore writes into. Paths are lists of names already checked by
 * core/snapshot/names.ts, relative to the target's root.
 * - Nothing is ever written through a symbolic link: when any existing component of a path below
 *   the root is a symlink (or not a folder where one is needed), the call rejects with
 *   PATH_UNSAFE and writes nothing.
 * - A file appears under its final name only once commit() ran (written to a temporary name in
 *   the same folder first), replacing what was there.
 * - Modes are applied without setuid/setgid bits.
 */
export interface RestoreTarget {
  makeDir(parts: readonly string[]): Promise<void>
  /** `sizeBytes`: how long the file will be, when known (a target may write large files differently). */
  createFile(parts: readonly string[], sizeBytes?: number): Promise<RestoreFileWriter>
  /**
   * A whole small file in one step, as createFile + write + commit would make it; the bytes may
   * be reused once the call returned. Absent, or null for `sizeBytes` it does not take this way
   * (wholeFileMaxBytes), when the target has no faster way.
   */
  writeFile?(parts: readonly string[], bytes: Uint8Array, mode: number, mtimeMs: number): Promise<void>
  /** The largest file writeFile takes (0: none). */
  readonly wholeFileMaxBytes?: number
  symlink(parts: readonly string[], target: string, mtimeMs: number): Promise<void>
  setDirMeta(parts: readonly string[], mode: number, mtimeMs: number): Promise<void>
}

export interface RestoreFileWriter {
  write(offsetBytes: number, bytes: Uint8Array): Promise<void>
  /** Sets mode and mtime and moves the file to its name; IO_FAILED when the size differs from `sizeBytes`. */
  commit(sizeBytes: number, mode: number, mtimeMs: number): Promise<void>
  abort(): Promise<void>
}
