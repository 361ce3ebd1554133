import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import type { HeapTuning } from '../../core/ports/heap-tuning.js'

/**
 * The steady factor: V8 lets the old generation grow to (1 + percent/100) × the live heap before
 * its next full collection. A node moves ~16 MiB pack bodies through memory, which V8 counts
 * against that limit; by default (~1.3-1.5x a ~25 MB live heap) that meant a full mark-compact
 * for nearly every pack. Measured in the 3-copy backup of bench:e2e: full collections per storage
 * node 45 -> 9, its CPU time 11 -> 8 s, the backup 34 -> 28 s. Still measured now that bodies go
 * into reused buffers: a storage node at 50 spends about 2 s more CPU per GiB received.
 */
export const STEADY_HEAP_GROWING_PERCENT = 200
/**
 * While a backup runs. In a 4 GiB backup the old generation filled up with garbage to its 3x
 * limit (one full collection in the whole run): the owner's peak RSS was 256 MB at 200 against
 * 222-225 MB at 50, with the same CPU time (60-65 s), in both cases with the 4 MiB young
 * generation the packages set (RUNTIME_ENV in scripts/packaging/render-common.ts; with V8's
 * default 16 MiB the factor made no measurable difference, 253-255 MB).
 */
export const BACKUP_HEAP_GROWING_PERCENT = 50

let fullGc: (() => void) | null = null

/**
 * A full collection of this thread's heap, now (tens of milliseconds for a node's ~30 MB live
 * heap). V8 offers that function only as a flag-exposed global, which a fresh context picks up.
 */
export function collectGarbage(): void {
  if (!fullGc) {
    setFlagsFromString('--expose-gc')
    fullGc = runInNewContext('gc') as () => void
  }
  fullGc()
}

/**
 * V8 applies a new factor when it next sets the limit, after a full collection; at the steady
 * factor that is only once the heap has grown to 3x its live size, late in a large backup or
 * never. So a lower factor is followed by one full collection at once (once per backup).
 */
function setGrowingPercent(percent: number): void {
  setFlagsFromString(`--heap-growing-percent=${percent}`)
  if (percent < STEADY_HEAP_GROWING_PERCENT) collectGarbage()
}

/**
 * HeapTuning by V8's --heap-growing-percent, which V8 reads each time it sets the limit, so a
 * change applies from the next collection on (workers included). `set` is for tests.
 */
export class V8HeapTuning implements HeapTuning {
  #backups = 0

  constructor(private readonly set: (percent: number) => void = setGrowingPercent) {}

  /** The steady tuning, at the node's start. */
  steady(): void {
    this.#backups = 0
    this.set(STEADY_HEAP_GROWING_PERCENT)
  }

  duringBackup(): () => void {
    if (this.#backups++ === 0) this.set(BACKUP_HEAP_GROWING_PERCENT)
    let ended = false
    return () => {
      if (ended) return
      ended = true
      if (--this.#backups === 0) this.set(STEADY_HEAP_GROWING_PERCENT)
    }
  }
}

/** The node's one tuning: every owner engine a process opens shares it. */
export const v8HeapTuning = new V8HeapTuning()
