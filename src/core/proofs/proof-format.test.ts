import test from 'ava'
import { parseGroth16Proof, BN254_BASE_MODULUS } from './proof-format.js'
import { padBatch, publicSignals } from './statement.js'
import { idToField, nonceToField } from './field-mapping.js'
import { BackupError } from '../errors.js'
import { BN254_SCALAR_MODULUS } from '../crypto/index.js'

const good = { pi_a: ['1', '2', '1'], pi_b: [['1', '2'], ['3', '4'], ['1', '0']], pi_c: ['5', '6', '1'], protocol: 'groth16', curve: 'bn128' }

test('a well-formed proof parses', (t) => {
  t.deepEqual(parseGroth16Proof(JSON.parse(JSON.stringify(good))), good as never)
})

test('malformed proofs are INPUT_INVALID: shapes, sizes, extra fields, non-canonical numbers', (t) => {
  const p = (over: Record<string, unknown>) => ({ ...good, ...over })
  const bad: unknown[] = [
    null, [], 'proof', 42, {},
    p({ protocol: 'plonk' }), p({ curve: 'bls12381' }), p({ extra: 1 }),
    p({ pi_a: ['1', '2'] }), p({ pi_a: ['1', '2', '3', '4'] }), p({ pi_b: [['1', '2'], ['3', '4']] }), p({ pi_b: [['1'], ['3', '4'], ['1', '0']] }),
    p({ pi_c: [1, 2, 3] }), p({ pi_c: ['01', '2', '1'] }), p({ pi_c: ['-1', '2', '1'] }), p({ pi_c: ['1e3', '2', '1'] }),
    p({ pi_a: [BN254_BASE_MODULUS.toString(), '2', '1'] }), p({ pi_a: ['9'.repeat(100), '2', '1'] }),
  ]
  for (const b of bad) t.throws(() => parseGroth16Proof(b), { instanceOf: BackupError, code: 'INPUT_INVALID' }, JSON.stringify(b))
})

test('batches are padded by repeating the first real pair; signals are in circuit order', (t) => {
  const items = [{ objectId: 11n, commitment: 21n }, { objectId: 12n, commitment: 22n }]
  const padded = padBatch(items, 4)
  t.deepEqual(padded, [items[0], items[1], items[0], items[0]])
  t.deepEqual(publicSignals(items, { nonce: 5n, nodeId: 6n, action: 'delete' }, 4), ['11', '12', '11', '11', '21', '22', '21', '21', '5', '6', '2'])
  t.throws(() => padBatch([], 4), { instanceOf: BackupError, code: 'INPUT_INVALID' })
  t.throws(() => padBatch(Array(5).fill(items[0]), 4), { instanceOf: BackupError, code: 'INPUT_INVALID' })
})

test('ids and nonces map to canonical field elements', (t) => {
  t.is(idToField(new Uint8Array(32).fill(0xff)), (2n ** 256n - 1n) % BN254_SCALAR_MODULUS)
  t.true(nonceToField(new Uint8Array(31).fill(0xff)) < BN254_SCALAR_MODULUS)
  t.throws(() => idToField(new Uint8Array(31)), { instanceOf: BackupError, code: 'INPUT_INVALID' })
  t.throws(() => nonceToField(new Uint8Array(32)), { instanceOf: BackupError, code: 'INPUT_INVALID' })
})
