import test from 'ava'
import { randomFillSync } from 'node:crypto'
import { SodiumNativeCrypto } from './sodium-native-crypto.js'
import { toHex } from '../../shared/bytes.js'

const sodium = new SodiumNativeCrypto()

test('sha256Incremental over pieces of any size equals sha256 of the whole, and the FIPS 180-2 vector', (t) => {
  const abc = sodium.sha256Incremental()
  abc.update(new TextEncoder().encode('a'))
  abc.update(new Uint8Array(0))
  abc.update(new TextEncoder().encode('bc'))
  t.is(toHex(abc.digest()), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')

  const whole = randomFillSync(new Uint8Array(1024 * 1024 + 17))
  for (const pieceBytes of [13, 4096, 65_536, whole.length]) {
    const h = sodium.sha256Incremental()
    for (let at = 0; at < whole.length; at += pieceBytes) h.update(whole.subarray(at, at + pieceBytes))
    t.deepEqual(h.digest(), sodium.sha256(whole), `pieces of ${pieceBytes}`)
  }
  t.is(sodium.sha256Incremental().digest().length, 32)
})
