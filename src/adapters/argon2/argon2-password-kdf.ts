import { hashRaw, type Algorithm } from '@node-rs/argon2'
import type { Argon2Params, PasswordKdf } from '../../core/ports/password-kdf.js'

// The package declares Algorithm as a `const enum` and exports no runtime object for it, so the
// value is written out: 2 is Argon2id in its (and the reference implementation's) numbering.
const ARGON2ID = 2 as Algorithm

/** Argon2id through @node-rs/argon2 (runs on libuv's thread pool, off the event loop). */
export class Argon2PasswordKdf implements PasswordKdf {
  async derive(passphrase: string, salt: Uint8Array, params: Argon2Params, outputBytes: number): Promise<Uint8Array> {
    const out = await hashRaw(passphrase, {
      algorithm: ARGON2ID,
      memoryCost: params.memoryKiB,
      timeCost: params.iterations,
      parallelism: params.parallelism,
      outputLen: outputBytes,
      salt,
    })
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
  }
}
