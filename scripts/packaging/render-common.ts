/** What every renderer returns: repository-relative path → contents (text or bytes). */
export type Files = Map<string, string | Uint8Array>

export const GENERATED = 'Generated from plugin/quloud.plugin.json by `npm run package`: edit the manifest, not this file.'

/** Files that must be executable once written. */
export const isExecutable = (path: string): boolean => path.endsWith('.sh') || path.startsWith('packaging/synology/scripts/')

export const xmlEscape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

/**
 * The environment a node runs in, the same in every package, `npm start` and bench:e2e:
 * - glibc's malloc raises its mmap threshold as large buffers are freed, after which multi-MB
 *   file and pack buffers come from heap arenas that fragment and never shrink: a fixed threshold
 *   keeps them mmapped and returned on free (measured: peak RSS of a 575 MB backup 566 → 406 MB).
 * - V8's young generation grows to 2 × 16 MiB by default, and its pages stay resident; a node's
 *   short-lived objects need far less. With 4 MiB semi-spaces the backing-up node's peak RSS in
 *   bench:e2e was 194-198 MB instead of 219-221 MB for 1 GiB, and 225 MB instead of 253-255 MB
 *   for 4 GiB (with the backup heap tuning of adapters/system/v8-heap-tuning.ts); the 1 GiB backup
 *   took 21.8-22.7 s against 19.8-21.8 s. V8 takes this size only at start, hence the variable.
 */
export const RUNTIME_ENV = 'MALLOC_MMAP_THRESHOLD_=131072 NODE_OPTIONS=--max-semi-space-size=4'
