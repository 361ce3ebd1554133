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

test('fromHex reads upper- and lower-case hex and refuses anything else (odd length, any other character)', (t) => {
  t.deepEqual(fromHex('00fFaB9d'), Uint8Array.of(0, 0xff, 0xab, 0x9d))
  for (const bad of ['0', 'abc', '0g', ' 0', '0x', 'é0', '\u0660\u0661', '\uff10\uff11', '0\u0000', 'zz']) t.is(fromHex(bad), null, JSON.stringify(bad))
  fc.assert(
    fc.property(fc.string({ maxLength: 40 }), (text) => {
      const valid = text.length % 2 === 0 && /^[0-9a-fA-F]*$/.test(text)
      t.deepEqual(fromHex(text), valid ? new Uint8Array(Buffer.from(text, 'hex')) : null)
    }),
  )
})
