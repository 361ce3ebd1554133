import test from 'ava'
import fc from 'fast-check'
import { encodeRecoveryKey, parseRecoveryKey, RECOVERY_DATA_DIGITS } from './recovery-key.js'
import { BackupError } from '../errors.js'
import { CROCKFORD_ALPHABET } from '../../shared/crockford.js'

const key32 = fc.uint8Array({ minLength: 32, maxLength: 32 })

test('round-trips any master key, in any case and spacing', (t) => {
  fc.assert(
    fc.property(key32, (k) => {
      const text = encodeRecoveryKey(k)
      t.deepEqual(parseRecoveryKey(text), k)
      t.deepEqual(parseRecoveryKey(text.toLowerCase().replace(/-/g, ' ')), k)
    }),
  )
})

test('format: nine groups of six Crockford digits', (t) => {
  const text = encodeRecoveryKey(new Uint8Array(32).fill(0xab))
  t.regex(text, /^([0-9A-HJKMNP-TV-Z]{6}-){8}[0-9A-HJKMNP-TV-Z]{6}$/)
})

test('reads O as 0 and I, L as 1', (t) => {
  const k = new Uint8Array(32)
  const text = encodeRecoveryKey(k)
  t.deepEqual(parseRecoveryKey(text.replace(/0/g, 'O')), k)
})

function expectInvalid(t: import('ava').ExecutionContext, text: string) {
  t.throws(() => parseRecoveryKey(text), { instanceOf: BackupError, code: 'RECOVERY_KEY_INVALID' })
}

test('every single mistyped digit is caught', (t) => {
  fc.assert(
    fc.property(key32, fc.nat(53), fc.integer({ min: 1, max: 31 }), (k, pos, delta) => {
      const digits = encodeRecoveryKey(k).replace(/-/g, '').split('')
      const old = CROCKFORD_ALPHABET.indexOf(digits[pos] as string)
      digits[pos] = CROCKFORD_ALPHABET[(old + delta) % 32] as string
      t.throws(() => parseRecoveryKey(digits.join('')), { instanceOf: BackupError, code: 'RECOVERY_KEY_INVALID' })
    }),
    { numRuns: 300 },
  )
})

test('every swap of two different neighbouring digits is caught', (t) => {
  fc.assert(
    fc.property(key32, fc.nat(52), (k, pos) => {
      const digits = encodeRecoveryKey(k).replace(/-/g, '').split('')
      fc.pre(digits[pos] !== digits[pos + 1])
      ;[digits[pos], digits[pos + 1]] = [digits[pos + 1] as string, digits[pos] as string]
      t.throws(() => parseRecoveryKey(digits.join('')), { instanceOf: BackupError, code: 'RECOVERY_KEY_INVALID' })
    }),
    { numRuns: 300 },
  )
})

test('bad input: wrong length, foreign characters, too-large value; error never echoes the key', (t) => {
  const text = encodeRecoveryKey(new Uint8Array(32).fill(7))
  expectInvalid(t, text.slice(0, -1))
  expectInvalid(t, text + '0')
  expectInvalid(t, text.replace(/^./, 'U'))
  expectInvalid(t, text.replace(/^./, '!'))
  expectInvalid(t, '')
  // 52 data digits hold 260 bits: a first digit above 15 cannot be a 256-bit key.
  expectInvalid(t, 'Z' + text.replace(/-/g, '').slice(1))
  const err = t.throws(() => parseRecoveryKey(text.slice(0, -1)))
  t.false(err?.message.includes(text.replace(/-/g, '').slice(0, 12)))
  t.is(RECOVERY_DATA_DIGITS, 52)
})
