import test from 'ava'
import { readFileSync } from 'node:fs'
import { createHash, createHmac } from 'node:crypto'
import sodiumNative from 'sodium-native'
import { VECTOR_SETS } from './fixtures/vectors/compute.js'
import { sodium, unhex } from './helpers/index.js'
import { asChunkId, asPackId } from '../src/core/ids.js'
import { parseRecoveryKey } from '../src/core/crypto/index.js'
import { openPackedChunk, readPackIndex } from '../src/core/pack/index.js'

function frozen(name: string): any {
  return JSON.parse(readFileSync(new URL(`./fixtures/vectors/${name}.json`, import.meta.url), 'utf8'))
}

for (const [name, compute] of Object.entries(VECTOR_SETS)) {
  test(`known-answer vectors: ${name} match the frozen file`, (t) => {
    t.deepEqual(JSON.parse(JSON.stringify(compute())), frozen(name))
  })
}

test('recovery-key vectors parse back to their master keys', (t) => {
  for (const v of frozen('recovery-key')) t.is(Buffer.from(parseRecoveryKey(v.recoveryKey)).toString('hex'), v.masterKey)
})

test('kdf vector: the share key is BLAKE2b(key = master, context || 0x00 || share id), computed independently', (t) => {
  const v = frozen('kdf')
  const out = Buffer.alloc(32)
  sodiumNative.crypto_generichash(out, Buffer.concat([Buffer.from('quloud:share:v1'), Buffer.from([0]), Buffer.from(v.shareId, 'hex')]), Buffer.from(v.masterKey, 'hex'))
  t.is(out.toString('hex'), v.shareKey)
  t.true(BigInt(v.proofKey) > 0n)
})

test('envelope vector opens with plain libsodium and its chunk id is HMAC-SHA-256', (t) => {
  const v = frozen('envelope')
  const env = Buffer.from(v.envelope, 'hex')
  t.is(env[0], 1)
  t.is(env.subarray(1, 25).toString('hex'), v.nonce)
  const out = Buffer.alloc(env.length - 41)
  sodiumNative.crypto_aead_xchacha20poly1305_ietf_decrypt(out, null, env.subarray(25), Buffer.concat([Buffer.from([1]), Buffer.from(v.chunkId, 'hex')]), env.subarray(1, 25), Buffer.from(v.chunkKey, 'hex'))
  t.is(out.toString('utf8'), v.plaintextUtf8)
  const idKey = frozen('kdf').idKey
  t.is(createHmac('sha256', Buffer.from(idKey, 'hex')).update(out).digest('hex'), v.chunkId)
})

test('frozen pack opens with the reader: entries and every chunk', (t) => {
  const v = frozen('pack')
  const k = frozen('kdf')
  const keys = { chunkKey: unhex(k.chunkKey), packKey: unhex(k.packKey), idKey: unhex(k.idKey) }
  const bytes = unhex(v.pack)
  const packId = asPackId(unhex(v.packId))
  const entries = readPackIndex(sodium, keys.packKey, packId, bytes)
  t.deepEqual(entries.map((e) => ({ chunkId: Buffer.from(e.chunkId).toString('hex'), offsetBytes: e.offsetBytes, sealedBytes: e.sealedBytes, plainBytes: e.plainBytes })), v.entries)
  entries.forEach((e, i) => {
    const plain = openPackedChunk(sodium, keys, packId, asChunkId(e.chunkId), bytes.subarray(e.offsetBytes, e.offsetBytes + e.sealedBytes))
    t.is(Buffer.from(plain).toString('hex'), v.chunks[i])
  })
})

test('merkle vector for a one-byte object, computed independently', (t) => {
  const v = frozen('merkle')
  const seedBlock = Buffer.alloc(8)
  seedBlock.writeUInt32LE(9, 0)
  const first = createHash('sha256').update(seedBlock).digest().subarray(0, 1)
  const leafHash = createHash('sha256').update(Buffer.from([0x00])).update(first).digest()
  const size = Buffer.alloc(8)
  size.writeUInt32LE(1, 0)
  const root = createHash('sha256').update(Buffer.from([0x02])).update(size).update(leafHash).digest('hex')
  t.is(root, v.cases[0].root)
})
