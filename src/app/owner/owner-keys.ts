import type { Sodium } from '../../core/ports/sodium.js'
import type { ShareId } from '../../core/ids.js'
import { identityFromSeed, type NodeIdentity } from '../../core/identity.js'
import { decryptFailed, inputInvalid } from '../../core/errors.js'
import { deriveOwnerKeys, deriveShareKey, deriveShareKeys, type ShareKeys } from '../../core/crypto/index.js'
import type { ShareRecord } from '../../core/ports/index-store.js'
import { concatBytes } from '../../shared/bytes.js'

/**
 * What an unlocked owner holds in memory: the master key and what derives from it, and the
 * owner's public proof keys. Never logged, never sent.
 */
export class OwnerKeys {
  readonly identity: NodeIdentity
  readonly locator: NodeIdentity
  readonly pointerKey: Uint8Array
  readonly #importWrapKey: Uint8Array

  constructor(
    private readonly sodium: Sodium,
    private readonly masterKey: Uint8Array,
    /** The owner's Groth16 keys: the proving key (zkey bytes) and the verification key JSON bytes. */
    readonly provingKey: () => Promise<Uint8Array>,
    readonly verificationKey: Uint8Array,
    readonly provingKeySha256: Uint8Array,
  ) {
    const k = deriveOwnerKeys(sodium, masterKey)
    this.identity = identityFromSeed(sodium, k.signingSeed)
    this.locator = identityFromSeed(sodium, k.locatorSeed)
    this.pointerKey = k.pointerKey
    this.#importWrapKey = k.importWrapKey
  }

  get verificationKeySha256(): Uint8Array {
    return this.sodium.sha256(this.verificationKey)
  }

  /** The keys of a share: derived from the master key, or unwrapped for an imported share. */
  shareKeys(share: Pick<ShareRecord, 'shareId' | 'wrappedKey'>): ShareKeys {
    if (share.wrappedKey) return deriveShareKeys(this.sodium, this.unwrapShareKey(share.shareId, share.wrappedKey))
    return deriveShareKeys(this.sodium, deriveShareKey(this.sodium, this.masterKey, share.shareId))
  }

  shareKey(shareId: ShareId): Uint8Array {
    return deriveShareKey(this.sodium, this.masterKey, shareId)
  }

  wrapShareKey(shareId: ShareId, shareKey: Uint8Array): Uint8Array {
    if (shareKey.length !== 32) throw inputInvalid('a share key has 32 bytes')
    const nonce = this.sodium.randomBytes(24)
    return concatBytes([nonce, this.sodium.aeadSeal(this.#importWrapKey, nonce, shareKey, shareId)])
  }

  unwrapShareKey(shareId: ShareId, wrapped: Uint8Array): Uint8Array {
    const key = wrapped.length === 24 + 32 + 16 ? this.sodium.aeadOpen(this.#importWrapKey, wrapped.subarray(0, 24), wrapped.subarray(24), shareId) : null
    if (!key) throw decryptFailed('the imported share key')
    return key
  }
}
