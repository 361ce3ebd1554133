import test from 'ava'
import { TokenBucket } from './token-bucket.js'

test('a token bucket lets a burst through, then spaces sends out to the rate', (t) => {
  const b = new TokenBucket(1000, 2000) // 1000 B/s, 2000 B burst
  t.is(b.reserve(1500, 0), 0)
  t.is(b.reserve(500, 0), 0)
  t.is(b.reserve(1000, 0), 1000, 'empty: 1000 B take a second')
  t.is(b.reserve(1000, 1000), 1000, 'the second it waited paid for the previous send')
  t.is(b.reserve(0, 10_000), 0)
  t.is(b.reserve(2000, 10_000), 0, 'refilled up to the burst, not beyond')
  t.is(b.reserve(1, 10_000), 1)
  t.is(new TokenBucket(100).reserve(16 * 1024 * 1024, 0) > 100_000, true, 'a pack larger than the burst waits its share')
  t.throws(() => new TokenBucket(0))
})
