import test from 'ava'
import { buildPoseidon } from 'circomlibjs'
import { CircomlibPoseidon } from './circomlib-poseidon.js'
import { BN254_SCALAR_MODULUS } from '../../core/crypto/index.js'
import { BackupError } from '../../core/errors.js'
import { SodiumNativeCrypto } from '../sodium/sodium-native-crypto.js'

test('BigInt Poseidon equals circomlibjs for 1 to 16 inputs, including edge values', async (t) => {
  const ours = await CircomlibPoseidon.create()
  const ref = await buildPoseidon()
  const sodium = new SodiumNativeCrypto()
  const random = () => BigInt(`0x${Buffer.from(sodium.randomBytes(32)).toString('hex')}`) % BN254_SCALAR_MODULUS
  for (let n = 1; n <= 16; n++) {
    const inputs = Array.from({ length: n }, (_, i) => (i === 0 ? BN254_SCALAR_MODULUS - 1n : i === 1 ? 0n : random()))
    t.is(ours.hash(inputs), ref.F.toObject(ref(inputs)), `${n} inputs`)
  }
  t.throws(() => ours.hash([BN254_SCALAR_MODULUS]), { instanceOf: BackupError, code: 'INPUT_INVALID' })
  t.throws(() => ours.hash([]), { instanceOf: BackupError, code: 'INPUT_INVALID' })
})
