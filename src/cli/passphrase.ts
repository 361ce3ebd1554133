import { readFile } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { Writable } from 'node:stream'
import { configInvalid, ioFailed } from '../core/errors.js'

/** Reads a passphrase file: the first line, without its line ending (the file may hold only it). */
export async function readPassphraseFile(path: string): Promise<string> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw ioFailed(`reading the passphrase file ${path}`, err)
  }
  const passphrase = text.split(/\r?\n/)[0] ?? ''
  if (passphrase.length === 0) throw configInvalid(`the passphrase file ${path} is empty`)
  return passphrase
}

/** Asks on the terminal without echoing what is typed. */
async function ask(prompt: string): Promise<string> {
  let muted = false
  const out = new Writable({
    write(chunk, _enc, cb) {
      if (!muted) process.stderr.write(chunk)
      cb()
    },
  })
  const rl = createInterface({ input: process.stdin, output: out, terminal: true })
  process.stderr.write(prompt)
  muted = true
  try {
    return await new Promise<string>((resolve) => rl.question('', resolve))
  } finally {
    muted = false
    rl.close()
    process.stderr.write('\n')
  }
}

/**
 * The passphrase from --passphrase-file (or QULOUD_PASSPHRASE_FILE, resolved by the caller), or
 * typed on a terminal (twice when `confirm`). Without either, CONFIG_INVALID says what to do.
 */
export async function obtainPassphrase(file: string | null, { confirm }: { confirm: boolean }): Promise<string> {
  if (file) return readPassphraseFile(file)
  if (!process.stdin.isTTY) throw configInvalid('no passphrase: pass --passphrase-file FILE (or set QULOUD_PASSPHRASE_FILE), or run in a terminal')
  const first = await ask('Key passphrase: ')
  if (confirm && (await ask('Same passphrase again: ')) !== first) throw configInvalid('the two passphrases differ')
  return first
}
