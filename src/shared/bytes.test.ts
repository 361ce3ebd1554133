import test from 'ava'
import fc from 'fast-check'
import { fromHex, toHex } from './bytes.js'

test('toHex is lower-case hex of every byte, for any length, and fromHex reads it back', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 10_000 }), (bytes) => {
      const hex = toHex(bytes)
      t.is(hex, Buffer.from(bytes).toString('hex'))
      t.deepEqual(fromHex(hex), bytes)
    }),
  )
  t.is(toHex(new Uint8Array(0)), '')
  t.is(toHex(Uint8Array.of(0, 0x0f, 0x80, 0x9d, 0xff)), '000f809dff')
  const big = new Uint8Array(100_000).map((_, i) => i)
  t.is(toHex(big), Buffer.from(big).toString('hex'))
  t.is(toHex(big.subarray(5, 9)), '05060708', 'a view is read from its own offset')
})
