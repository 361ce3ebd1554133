import test from 'ava'
import { join } from 'node:path'
import { stat, readFile, writeFile } from 'node:fs/promises'
import { Keyring, MASTER_KEY_FILE, IDENTITY_FILE } from './keyring.js'
import { FsDataDir } from '../adapters/fs/fs-data-dir.js'
import { Argon2PasswordKdf } from '../adapters/argon2/argon2-password-kdf.js'
import { parseRecoveryKey } from '../core/crypto/index.js'
import { BackupError } from '../core/errors.js'
import { sodium, tempDir, FAST_ARGON2 } from '../../test/helpers/index.js'

async function make(t: import('ava').ExecutionContext) {
  const dir = join(await tempDir(t), 'data')
  const dataDir = await FsDataDir.open(dir)
  return { dir, keyring: new Keyring({ sodium, kdf: new Argon2PasswordKdf(), dataDir }, FAST_ARGON2) }
}

test('init writes 0600 key and identity files; the recovery key is the master key', async (t) => {
  const { dir, keyring } = await make(t)
  const { recoveryKey, identity } = await keyring.init('a long passphrase')
  t.is((await stat(join(dir, MASTER_KEY_FILE))).mode & 0o777, 0o600)
  t.is((await stat(join(dir, IDENTITY_FILE))).mode & 0o777, 0o600)
  t.is((await stat(dir)).mode & 0o777, 0o700)
  t.deepEqual(await keyring.unlock('a long passphrase'), parseRecoveryKey(recoveryKey))
  t.deepEqual((await keyring.identity()).nodeId, identity.nodeId)
  t.false((await readFile(join(dir, MASTER_KEY_FILE), 'utf8')).includes(recoveryKey.slice(0, 6)))
})

test('init refuses to overwrite, and refuses short passphrases; nothing changes', async (t) => {
  const { dir, keyring } = await make(t)
  await t.throwsAsync(keyring.init('short'), { instanceOf: BackupError, code: 'INPUT_INVALID' })
  t.false(await keyring.isInitialized())
  await keyring.init('a long passphrase')
  const before = await readFile(join(dir, MASTER_KEY_FILE), 'utf8')
  await t.throwsAsync(keyring.init('another passphrase'), { instanceOf: BackupError, code: 'ALREADY_INITIALIZED' })
  t.is(await readFile(join(dir, MASTER_KEY_FILE), 'utf8'), before)
})

test('unlock: missing, wrong passphrase and damaged files are three different errors', async (t) => {
  const { dir, keyring } = await make(t)
  await t.throwsAsync(keyring.unlock('whatever passphrase'), { instanceOf: BackupError, code: 'KEY_FILE_MISSING' })
  await keyring.init('a long passphrase')
  await t.throwsAsync(keyring.unlock('not the passphrase'), { instanceOf: BackupError, code: 'PASSPHRASE_WRONG' })
  await writeFile(join(dir, MASTER_KEY_FILE), '{"format":"quloud-key-file"')
  await t.throwsAsync(keyring.unlock('a long passphrase'), { instanceOf: BackupError, code: 'KEY_FILE_CORRUPT' })
  await writeFile(join(dir, IDENTITY_FILE), 'garbage')
  await t.throwsAsync(keyring.identity(), { instanceOf: BackupError, code: 'KEY_FILE_CORRUPT' })
})
