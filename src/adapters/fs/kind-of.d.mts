import type { EntryKind } from '../../core/ports/source-fs.js'

/** What an lstat result is, as a source entry (symlinks are never followed). */
export declare function kindOf(st: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }): EntryKind
