/**
 * Read-only view of a folder being backed up.
 * - walk() yields every entry below the root exactly once (directories before their contents),
 *   with share-relative POSIX paths; it never follows symlinks.
 * - stat() lets a reader notice a file that changed while it was read.
 * - read() yields the file's bytes in order, in pieces of any size; it rejects with IO_FAILED
 *   when the file cannot be read.
 */
export type EntryKind = 'file' | 'dir' | 'symlink' | 'other'

export interface SourceEntry {
  path: string
  kind: EntryKind
  sizeBytes: number
  mtimeMs: number
  inode: number
  mode: number
}

export interface SourceFs {
  walk(): AsyncIterable<SourceEntry>
  /** Current metadata of one entry (not following symlinks); IO_FAILED when it is gone. */
  stat(path: string): Promise<SourceEntry>
  read(path: string): AsyncIterable<Uint8Array>
  /** The target of a symlink, as stored (not resolved); IO_FAILED when it cannot be read. */
  readLink(path: string): Promise<string>
  /**
   * The entry's absolute path when the source is a local folder (so helper threads may read it
   * directly); absent for sources that are not plain local files.
   */
  localPath?(path: string): string
}
