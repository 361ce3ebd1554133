/**
 * The garbage collector's tuning for the work a node is doing; the setting is process-wide.
 * Storing other nodes' packs wants room between full collections (large buffers that live for
 * one request); a backup wants a tight limit (per-file data lives for seconds, long enough to
 * leave the young generation, and then piles up as garbage until the next full collection).
 *
 * duringBackup() switches to the backup tuning and returns the function that ends it; the steady
 * tuning comes back when every backup that asked has ended (backups of several shares overlap).
 * Calling a returned function again does nothing.
 */
export interface HeapTuning {
  duringBackup(): () => void
}
