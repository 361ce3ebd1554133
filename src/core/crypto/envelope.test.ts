import test from 'ava'
import fc from 'fast-check'
import { sealChunk, openChunk, ENVELOPE_OVERHEAD_BYTES } from './envelope.js'
import { chunkIdOf } from './chunk-id.js'
import { deriveShareKeys } from './keys.js'
import { sodium } from '../../../test/helpers/index.js'

const keys = deriveShareKeys(sodium, new Uint8Array(32).fill(8))

test('seal/open round-trips and the envelope never contains its plaintext', (t) => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 4000 }), (plain) => {
    const id = chunkIdOf(sodium, keys.idKey, plain)
    const env = sealChunk(sodium, keys.chunkKey, id, plain)
    t.is(env.length, plain.length + ENVELOPE_OVERHEAD_BYTES)
    t.deepEqual(openChunk(sodium, keys.chunkKey, id, env), plain)
    t.is(Buffer.from(env).indexOf(Buffer.from(plain)), -1)
  }))
})

test('one flipped bit anywhere, another id, another key: open returns null', (t) => {
  const plain = new TextEncoder().encode('some chunk of a file')
  const id = chunkIdOf(sodium, keys.idKey, plain)
  const env = sealChunk(sodium, keys.chunkKey, id, plain)
  for (let i = 0; i < env.length * 8; i++) {
    const bad = env.slice()
    bad[i >> 3] = (bad[i >> 3] as number) ^ (1 << (i & 7))
    t.is(openChunk(sodium, keys.chunkKey, id, bad), null)
  }
  t.is(openChunk(sodium, keys.chunkKey, chunkIdOf(sodium, keys.idKey, new Uint8Array(1)), env), null)
  t.is(openChunk(sodium, deriveShareKeys(sodium, new Uint8Array(32)).chunkKey, id, env), null)
})

test('malformed envelopes all fail: empty, too short, wrong version, truncated tag', (t) => {
  const plain = new Uint8Array(100).fill(1)
  const id = chunkIdOf(sodium, keys.idKey, plain)
  const env = sealChunk(sodium, keys.chunkKey, id, plain)
  const versioned = env.slice()
  versioned[0] = 2
  for (const bad of [new Uint8Array(0), env.subarray(0, 40), versioned, env.subarray(0, env.length - 1), env.subarray(1)]) {
    t.is(openChunk(sodium, keys.chunkKey, id, bad), null)
  }
})
