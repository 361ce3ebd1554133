import test from 'ava'
import { NonceStore } from './nonce-store.js'
import { NONCE_BYTES } from './field-mapping.js'
import { sodium } from '../../../test/helpers/index.js'

function store(opts = {}) {
  let now = 1_000
  const s = new NonceStore({ clock: { nowMs: () => now }, randomBytes: (n) => sodium.randomBytes(n) }, opts)
  return { s, advance: (ms: number) => (now += ms) }
}

test('a nonce is good exactly once', (t) => {
  const { s } = store()
  const { nonce } = s.issue()
  t.is(nonce.length, NONCE_BYTES)
  t.true(s.consume(nonce))
  t.false(s.consume(nonce))
})

test('unknown and expired nonces are refused', (t) => {
  const { s, advance } = store({ ttlMs: 100 })
  t.false(s.consume(new Uint8Array(NONCE_BYTES)))
  const { nonce } = s.issue()
  advance(100)
  t.false(s.consume(nonce))
})

test('open nonces are bounded: the oldest are dropped, and expired ones swept', (t) => {
  const { s, advance } = store({ maxOpen: 3, ttlMs: 50 })
  const first = s.issue().nonce
  for (let i = 0; i < 3; i++) s.issue()
  t.is(s.openCount, 3)
  t.false(s.consume(first))
  advance(60)
  s.issue()
  t.is(s.openCount, 1)
})
