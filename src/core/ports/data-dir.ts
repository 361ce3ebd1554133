/**
 * The node's private data folder (keys, identity, config, API token).
 * - writeAtomic() MUST replace the file atomically (never a half-written file, also after a
 *   crash) and create it with the given mode (0600 for anything secret).
 * - writeNew() is writeAtomic() that rejects with ALREADY_INITIALIZED when the file exists.
 * - readText() resolves null when the file does not exist.
 * Names are plain file names chosen by the program, never paths from input.
 */
export interface DataDir {
  readonly path: string
  readText(name: string): Promise<string | null>
  readBytes(name: string): Promise<Uint8Array | null>
  writeAtomic(name: string, data: string | Uint8Array, mode: number): Promise<void>
  writeNew(name: string, data: string | Uint8Array, mode: number): Promise<void>
  /** Absolute path of a file inside the folder, for adapters that open it themselves. */
  resolve(name: string): string
}
