import test from 'ava'
import { wrapMasterKey, unwrapMasterKey, parseKeyFile } from './key-file.js'
import { BackupError } from '../errors.js'
import { Argon2PasswordKdf } from '../../adapters/argon2/argon2-password-kdf.js'
import { sodium, FAST_ARGON2 } from '../../../test/helpers/index.js'

const kdf = new Argon2PasswordKdf()
const master = new Uint8Array(32).map((_, i) => i * 7)

test('wraps and unwraps with the right passphrase; the file holds no key bytes in clear', async (t) => {
  const text = await wrapMasterKey(sodium, kdf, master, 'correct horse', FAST_ARGON2)
  t.deepEqual(await unwrapMasterKey(sodium, kdf, text, 'correct horse'), master)
  t.false(text.includes(Buffer.from(master).toString('base64')))
  t.false(text.includes(Buffer.from(master).toString('hex')))
  t.false(text.includes('correct horse'))
  t.is(parseKeyFile(text).kdf.memoryKiB, FAST_ARGON2.memoryKiB)
})

test('a wrong passphrase and a damaged file give two different errors', async (t) => {
  const text = await wrapMasterKey(sodium, kdf, master, 'right', FAST_ARGON2)
  await t.throwsAsync(unwrapMasterKey(sodium, kdf, text, 'wrong'), { instanceOf: BackupError, code: 'PASSPHRASE_WRONG' })
  const doc = JSON.parse(text)
  const ct = Buffer.from(doc.ciphertext, 'base64')
  ct[3] = (ct[3] as number) ^ 1
  const damaged = JSON.stringify({ ...doc, ciphertext: ct.toString('base64') })
  await t.throwsAsync(unwrapMasterKey(sodium, kdf, damaged, 'right'), { instanceOf: BackupError, code: 'KEY_FILE_CORRUPT' })
  const err = await t.throwsAsync(unwrapMasterKey(sodium, kdf, text, 'hunter2-secret'))
  t.false(err?.message.includes('hunter2'))
})

test('malformed key files are KEY_FILE_CORRUPT, whatever is wrong', async (t) => {
  const text = await wrapMasterKey(sodium, kdf, master, 'pw', FAST_ARGON2)
  const doc = JSON.parse(text)
  const variants: unknown[] = [
    'not json', '[]', 'null', '{}',
    { ...doc, format: 'other' }, { ...doc, version: 2 }, { ...doc, kdf: null }, { ...doc, kdf: { ...doc.kdf, algorithm: 'scrypt' } },
    { ...doc, kdf: { ...doc.kdf, memoryKiB: 1e12 } }, { ...doc, kdf: { ...doc.kdf, iterations: 0 } }, { ...doc, kdf: { ...doc.kdf, salt: 'AAAA' } },
    { ...doc, nonce: '***' }, { ...doc, ciphertext: 'AAAA' }, { ...doc, check: undefined },
  ]
  for (const v of variants) {
    const s = typeof v === 'string' ? v : JSON.stringify(v)
    await t.throwsAsync(unwrapMasterKey(sodium, kdf, s, 'pw'), { instanceOf: BackupError, code: 'KEY_FILE_CORRUPT' }, s.slice(0, 60))
  }
  // A tampered KDF parameter that stays in range: the check value no longer matches, or the AD does.
  const tampered = JSON.stringify({ ...doc, kdf: { ...doc.kdf, iterations: 2 } })
  const err = await t.throwsAsync(unwrapMasterKey(sodium, kdf, tampered, 'pw'))
  t.true(err instanceof BackupError && ['PASSPHRASE_WRONG', 'KEY_FILE_CORRUPT'].includes(err.code))
})
