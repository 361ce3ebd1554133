import test from 'ava'
import { BACKUP_HEAP_GROWING_PERCENT, STEADY_HEAP_GROWING_PERCENT, V8HeapTuning, v8HeapTuning } from './v8-heap-tuning.js'

test('the backup tuning holds while any backup runs and the steady one returns after the last; ending twice changes nothing', (t) => {
  const set: number[] = []
  const tuning = new V8HeapTuning((p) => set.push(p))
  tuning.steady()
  const a = tuning.duringBackup()
  const b = tuning.duringBackup()
  a()
  a()
  t.deepEqual(set, [STEADY_HEAP_GROWING_PERCENT, BACKUP_HEAP_GROWING_PERCENT], 'one backup still runs')
  b()
  t.deepEqual(set, [STEADY_HEAP_GROWING_PERCENT, BACKUP_HEAP_GROWING_PERCENT, STEADY_HEAP_GROWING_PERCENT])
  b()
  tuning.duringBackup()()
  t.deepEqual(set.slice(3), [BACKUP_HEAP_GROWING_PERCENT, STEADY_HEAP_GROWING_PERCENT])
  t.true(BACKUP_HEAP_GROWING_PERCENT < STEADY_HEAP_GROWING_PERCENT)
})

test('V8 takes both settings', (t) => {
  t.notThrows(() => {
    v8HeapTuning.steady()
    v8HeapTuning.duringBackup()()
  })
})
