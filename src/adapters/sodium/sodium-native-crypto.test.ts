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

test('AES-256-GCM gives the GCM test vector (test case 16 of the GCM specification) with the C module and on node:crypto alike, and refuses any change', (t) => {
  const key = Buffer.from('feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308', 'hex')
  const nonce = Buffer.from('cafebabefacedbaddecaf888', 'hex')
  const ad = Buffer.from('feedfacedeadbeeffeedfacedeadbeefabaddad2', 'hex')
  const plain = Buffer.from('d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39', 'hex')
  const sealed = '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662' + '76fc6ece0f4e1768cddf8853bb2d551b'
  const withModule = new SodiumNativeCrypto()
  const withNodeCrypto = new SodiumNativeCrypto({ useNative: false })
  t.false(withNodeCrypto.aesGcm.inHardware, 'without the C module a node never writes it')
  for (const gcm of [withModule.aesGcm, withNodeCrypto.aesGcm]) {
    const out = new Uint8Array(4 + plain.length + 16)
    t.is(gcm.sealInto(out, 4, key, nonce, plain, ad), plain.length + 16)
    t.is(Buffer.from(out.subarray(4)).toString('hex'), sealed)
    const into = new Uint8Array(plain.length)
    t.is(gcm.open(key, nonce, out.subarray(4), ad, into), into)
    t.deepEqual(Buffer.from(into), plain)
    for (const at of [0, plain.length - 1, plain.length, plain.length + 15]) {
      const bad = out.slice(4)
      bad[at] = (bad[at] as number) ^ 1
      t.is(gcm.open(key, nonce, bad, ad), null)
    }
    t.is(gcm.open(key, nonce, out.subarray(4), ad.subarray(1)), null)
    t.is(gcm.open(key, nonce.subarray(1), out.subarray(4), ad), null)
    t.is(gcm.open(key, nonce, out.subarray(4), ad, new Uint8Array(plain.length + 1)), null)
  }
})
