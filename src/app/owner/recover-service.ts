import type { Sodium } from '../../core/ports/sodium.js'
import type { Logger } from '../../core/ports/logger.js'
import type { IndexStore } from '../../core/ports/index-store.js'
import type { Poseidon } from '../../core/ports/poseidon.js'
import type { Prover } from '../../core/ports/prover.js'
import type { Clock } from '../../core/ports/clock.js'
import { BackupError, inputInvalid, keyFileCorrupt, notFound, rethrowIfBug } from '../../core/errors.js'
import { deriveShareKey, deriveShareKeys } from '../../core/crypto/index.js'
import { identityFromSeed } from '../../core/identity.js'
import { deriveOwnerKeys } from '../../core/crypto/index.js'
import { openOwnerPointer, type PeerRef, type SnapshotSummary } from '../../core/snapshot/index.js'
import { bytesEqual } from '../../shared/bytes.js'
import type { Keyring } from '../keyring.js'
import type { ProofKeyStore } from '../proof-keys.js'
import type { PeerPool } from './peer-pool.js'
import { newestPointer, readShare } from './share-reader.js'

export interface RecoverDeps {
  sodium: Sodium
  clock: Clock
  log: Logger
  index: IndexStore
  pool: PeerPool
  keyring: Keyring
  proofKeys: ProofKeyStore
  poseidon: Poseidon
  makeProver: (provingKey: Uint8Array) => Prover
}

export interface RecoverResult {
  shares: Array<{ name: string; path: string; snapshots: number; latest: SnapshotSummary | null }>
  peers: number
}

/**
 * Disaster recovery into an empty data folder from the master key and a few peer addresses:
 * owner pointer (newest signed one any peer holds) → the owner's proof keys (public blobs,
 * checked against the hashes in the pointer) → each share's pointer and catalog → snapshots and
 * peers into the index. Only metadata is read; file data moves at restore. The master key file
 * is written last, so a recovery that fails part-way can simply be run again.
 */
export async function recoverOwner(deps: RecoverDeps, input: { masterKey: Uint8Array; passphrase: string; peers: string[] }): Promise<RecoverResult> {
  const { sodium, pool, index, log } = deps
  if (await deps.keyring.isInitialized()) throw inputInvalid('this data folder already holds a key file: recover into an empty folder')
  if (input.peers.length === 0) throw inputInvalid('recovery needs at least one peer address (--peer URL)')
  for (const url of input.peers) {
    try {
      await pool.add(url)
    } catch (err) {
      rethrowIfBug(err)
      log.warn({ url, code: err instanceof BackupError ? err.code : 'UNKNOWN' }, 'A recovery peer could not be reached')
    }
  }
  if (pool.active().length === 0) throw new BackupError('PEER_UNREACHABLE', 'none of the given peers could be reached', { retryable: true })
  const ownerKeys = deriveOwnerKeys(sodium, input.masterKey)
  const locator = identityFromSeed(sodium, ownerKeys.locatorSeed).nodeId
  const clients = () => pool.active().map((p) => pool.client(p))
  const pointer = await newestPointer(clients(), locator, log)
  if (!pointer) throw notFound('an owner pointer for this recovery key on the given peers')
  const owner = openOwnerPointer(sodium, ownerKeys.pointerKey, locator, pointer.value)
  for (const p of owner.peers) pool.remember(p)

  // The owner's proof keys: public blobs under the owner locator, named by hash in the signed pointer.
  const fetchBlob = async (sha: Uint8Array, what: string) => {
    for (const c of clients()) {
      try {
        return await c.getBlob(locator, sha)
      } catch (err) {
        rethrowIfBug(err)
      }
    }
    throw notFound(`the owner's ${what} on any reachable peer`)
  }
  const provingKey = await fetchBlob(owner.provingKeySha256, 'proving key')
  const vkBytes = await fetchBlob(owner.verificationKeySha256, 'verification key')
  let verificationKey: Record<string, unknown>
  try {
    verificationKey = JSON.parse(new TextDecoder().decode(vkBytes))
  } catch {
    throw keyFileCorrupt('the verification key fetched from peers is not JSON')
  }
  if (await deps.proofKeys.exists()) {
    if (!bytesEqual(await deps.proofKeys.verificationKeyBytes(), vkBytes)) throw inputInvalid('this data folder holds other proof keys: recover into an empty folder')
  } else {
    await deps.proofKeys.adopt(provingKey, verificationKey)
  }

  let prover: Promise<Prover> | null = null
  const result: RecoverResult = { shares: [], peers: 0 }
  try {
    for (const s of owner.shares) {
      const keys = deriveShareKeys(sodium, deriveShareKey(sodium, input.masterKey, s.shareId))
      const peers: PeerRef[] = pool.active().map((p) => pool.ref(p))
      const view = await readShare({ sodium, pool, log, fetcher: { poseidon: deps.poseidon, clock: deps.clock }, proverFor: () => () => (prover ??= Promise.resolve(deps.makeProver(provingKey))) }, keys, peers).catch((err) => {
        rethrowIfBug(err)
        if (err instanceof BackupError && err.code === 'NOT_FOUND') return null // a share added but never backed up
        throw err
      })
      if (!index.getShare(s.name)) index.addShare({ ...s, wrappedKey: null, pointerSeq: view?.seq ?? 0, pendingBackup: false, lastBackupMs: view?.catalog.snapshots.at(-1)?.createdAtMs ?? null, lastResult: null, createdAtMs: deps.clock.nowMs() })
      for (const snap of view?.catalog.snapshots ?? []) index.putSnapshot({ shareId: s.shareId, summary: snap })
      for (const p of [...(view?.catalog.peers ?? []), ...(view?.pointer.peers ?? [])]) pool.remember(p)
      result.shares.push({ name: s.name, path: s.path, snapshots: view?.catalog.snapshots.length ?? 0, latest: view?.catalog.snapshots.at(-1) ?? null })
    }
  } finally {
    if (prover) await (await prover).close()
  }
  result.peers = pool.active().length
  await deps.keyring.adopt(input.masterKey, input.passphrase)
  return result
}
