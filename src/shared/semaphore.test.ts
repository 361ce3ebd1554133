import test from 'ava'
import { Semaphore } from './semaphore.js'

/** Acquires for each rank in turn (all waiting once the slots are taken) and records who gets a slot. */
async function order(limit: number, ranks: Array<number | undefined>): Promise<{ got: number[]; releases: Array<() => void> }> {
  const s = new Semaphore(limit)
  const got: number[] = []
  const releases: Array<() => void> = []
  ranks.forEach((rank, i) => {
    void s.acquire(rank).then((release) => {
      got.push(i)
      releases.push(release)
    })
  })
  await new Promise((r) => setImmediate(r))
  return { got, releases }
}

/** Releases the held slots one at a time, each woken waiter taking the next, until none is left. */
async function drain(r: { got: number[]; releases: Array<() => void> }): Promise<number[]> {
  while (r.releases.length > 0) {
    ;(r.releases.shift() as () => void)()
    await new Promise((res) => setImmediate(res))
  }
  return r.got
}

test('without ranks, waiters are served in arrival order, at most `limit` at once', async (t) => {
  const r = await order(2, [undefined, undefined, undefined, undefined, undefined])
  t.deepEqual(r.got, [0, 1], 'two slots')
  t.deepEqual(await drain(r), [0, 1, 2, 3, 4])
})

test('waiters are served lowest rank first, in arrival order among equal ranks', async (t) => {
  // The first two take the slots at once whatever their rank; the rest wait.
  const r = await order(2, [9, 8, 5, 1, 7, 1, 0, 5, 3, 2, 2, 6])
  t.deepEqual(r.got, [0, 1])
  t.deepEqual(await drain(r), [0, 1, 6, 3, 5, 9, 10, 8, 2, 7, 11, 4])
})

test('many waiters come out in rank order (the heap keeps its order through pushes and pops)', async (t) => {
  const ranks = Array.from({ length: 500 }, (_, i) => (i * 7919) % 101)
  const r = await order(1, [-1, ...ranks])
  const got = await drain(r)
  t.is(got[0], 0)
  const served = got.slice(1).map((i) => ranks[i - 1] as number)
  t.deepEqual(served, [...ranks].sort((a, b) => a - b))
  // Equal ranks keep their arrival order.
  const waiters = got.slice(1)
  for (let k = 1; k < waiters.length; k++) if (served[k] === served[k - 1]) t.true((waiters[k] as number) > (waiters[k - 1] as number))
})

test('a slot released twice frees one slot; a bad limit or rank is refused', async (t) => {
  const s = new Semaphore(1)
  const release = await s.acquire()
  release()
  release()
  const a = await s.acquire()
  let second = false
  void s.acquire().then(() => (second = true))
  await new Promise((r) => setImmediate(r))
  t.false(second, 'one slot only, though released twice')
  a()
  await new Promise((r) => setImmediate(r))
  t.true(second)
  t.throws(() => new Semaphore(0), { instanceOf: RangeError })
  t.throws(() => new Semaphore(1.5), { instanceOf: RangeError })
  await t.throwsAsync(s.acquire(Number.NaN), { instanceOf: RangeError })
})
