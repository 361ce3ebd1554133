// Plain JavaScript, so the walk worker (walk-worker.mjs) loads it without the TypeScript loader.
// Types: kind-of.d.mts.

/** What an lstat result is, as a source entry (symlinks are never followed). */
export function kindOf(st) {
  if (st.isSymbolicLink()) return 'symlink'
  if (st.isFile()) return 'file'
  if (st.isDirectory()) return 'dir'
  return 'other'
}
