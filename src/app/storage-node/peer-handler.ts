import type { Sodium } from '../../core/ports/sodium.js'
import type { Clock } from '../../core/ports/clock.js'
import type { ProofVerifier } from '../../core/ports/prover.js'
import type { NodeIdentity } from '../../core/identity.js'
import { asNodeId, asPackId, type NodeId, type PackId } from '../../core/ids.js'
import { inputInvalid, objectMissing, proofRejected } from '../../core/errors.js'
import { checkOwnershipProof, idToField, NonceStore, OWNERSHIP_BATCH, type ProofAction } from '../../core/proofs/index.js'
import { hexBytes, integer, list, object, signReceipt, type Announcement, type Receipt } from '../../core/protocol/index.js'
import { sampleLeafIndices, type MerkleProof } from '../../core/audit/index.js'
import { bytesEqual, shortHex, toHex } from '../../shared/bytes.js'
import type { StorageService } from './storage-service.js'
import type { PublicStore } from './public-store.js'
import type { SignedPointer } from '../../core/protocol/index.js'
import type { PeerDirectory } from '../discovery/peer-directory.js'

export const FETCH_TICKET_TTL_MS = 10 * 60_000
const MAX_OPEN_TICKETS = 10_000

export interface StoreMeta {
  objectId: PackId
  ownerNodeId: NodeId
  commitment: string
  merkleRoot: Uint8Array
  ownerKeySha256: Uint8Array
}

export interface PeerHandlerDeps {
  sodium: Sodium
  clock: Clock
  identity: NodeIdentity
  storage: StorageService
  nonces: NonceStore
  verifier: ProofVerifier
  /** This node's current signed announcement. */
  announcement: () => Announcement
  /** Share pointers and public blobs. */
  publicStore: PublicStore
  /** The nodes this one knows, for peer exchange. */
  directory: PeerDirectory
}

/**
 * The storage node's side of the federation protocol, below HTTP (docs/PROTOCOL.md §5): each
 * method takes already-authenticated, size-limited input and either answers or throws a coded
 * error; nothing stored changes on a refusal.
 */
export class PeerHandler {
  /** Fetch tickets: a proof buys read access to its objects for a few minutes. */
  readonly #tickets = new Map<string, { objects: Set<string>; expiresAtMs: number }>()

  constructor(private readonly deps: PeerHandlerDeps) {}

  get nodeId(): NodeId {
    return this.deps.identity.nodeId
  }

  /** A nonce is the first step of a proof (fetch or delete): the verifier starts loading now. */
  issueNonce(): { nonce: Uint8Array; expiresAtMs: number } {
    const issued = this.deps.nonces.issue()
    this.deps.verifier.warm?.()
    return issued
  }

  /** PUT /v1/owner-key, signed by the owner node itself. */
  pinOwnerKey(signer: NodeId, keyBytes: Uint8Array): Uint8Array {
    return this.deps.storage.pinOwnerKey(signer, keyBytes)
  }

  /** PUT /v1/objects/:id, signed by the sending node. */
  async store(signer: NodeId, meta: StoreMeta, bytes: Uint8Array): Promise<Receipt> {
    const stored = await this.deps.storage.store({ ...meta, ownerKeyHash: meta.ownerKeySha256, senderNodeId: signer, bytes })
    return signReceipt(this.deps.sodium, this.deps.identity, { objectId: stored.objectId, sizeBytes: stored.sizeBytes, merkleRoot: stored.merkleRoot, storedAtMs: stored.storedAtMs })
  }

  /** Parses { nonce, objectIds, proof } and checks the proof for this action against the owner's pinned key. */
  async #proven(raw: unknown, action: ProofAction): Promise<PackId[]> {
    const body = object(raw, 'the request', ['nonce', 'objectIds', 'proof'])
    const nonce = hexBytes(body.nonce, 'nonce', 31)
    const ids = list(body.objectIds, 'objectIds', 1, OWNERSHIP_BATCH, (v, w) => asPackId(hexBytes(v, w, 32)))
    if (new Set(ids.map(toHex)).size !== ids.length) throw inputInvalid('objectIds repeats an id')
    const metas = ids.map((id) => {
      const m = this.deps.storage.meta(id)
      if (!m) {
        // The nonce is spent all the same: an unknown id must not give a free retry.
        this.deps.nonces.consume(nonce)
        throw objectMissing(shortHex(id))
      }
      return m
    })
    const owner = metas[0]?.ownerNodeId as NodeId
    if (!metas.every((m) => bytesEqual(m.ownerNodeId, owner))) {
      this.deps.nonces.consume(nonce)
      throw inputInvalid('one proof covers objects of one owner')
    }
    const key = this.deps.storage.ownerKey(owner)
    if (!key) throw proofRejected('no verification key is pinned for the owner of these objects')
    await checkOwnershipProof(
      { verifier: this.deps.verifier, nonces: this.deps.nonces },
      { verificationKey: key.key, nodeId: idToField(this.nodeId), action, items: metas.map((m) => ({ objectId: idToField(m.objectId), commitment: BigInt(m.commitment) })), nonce, proof: body.proof },
    )
    return ids
  }

  /** POST /v1/fetch-grants: a valid fetch proof buys a ticket for its objects. */
  async grantFetch(raw: unknown): Promise<{ ticket: Uint8Array; expiresAtMs: number; objectIds: PackId[] }> {
    const ids = await this.#proven(raw, 'fetch')
    this.#sweepTickets()
    const ticket = this.deps.sodium.randomBytes(32)
    const expiresAtMs = this.deps.clock.nowMs() + FETCH_TICKET_TTL_MS
    this.#tickets.set(toHex(ticket), { objects: new Set(ids.map(toHex)), expiresAtMs })
    while (this.#tickets.size > MAX_OPEN_TICKETS) this.#tickets.delete(this.#tickets.keys().next().value as string)
    return { ticket, expiresAtMs, objectIds: ids }
  }

  /**
   * GET /v1/objects/:id with a ticket: the object, or the byte range asked for, as a stream of
   * pieces. Everything is checked (ticket, object, range) before the first piece.
   */
  async read(objectId: PackId, ticket: Uint8Array, range?: { offset: number; length: number }): Promise<{ pieces: AsyncGenerator<Uint8Array>; sizeBytes: number; offset: number; length: number }> {
    const t = this.#tickets.get(toHex(ticket))
    if (!t || t.expiresAtMs <= this.deps.clock.nowMs() || !t.objects.has(toHex(objectId))) throw proofRejected('the fetch ticket is unknown, expired or not for this object')
    const meta = this.deps.storage.meta(objectId)
    if (!meta) throw objectMissing(shortHex(objectId))
    const offset = range?.offset ?? 0
    const length = range?.length ?? meta.sizeBytes
    if (offset + length > meta.sizeBytes) throw inputInvalid(`range ${offset}+${length} is outside the object (${meta.sizeBytes} bytes)`)
    const pieces = this.deps.storage.readStream(objectId, offset, length)
    // The first piece is read now, so a damaged object is refused with an error, not a cut stream.
    const first = await pieces.next()
    async function* all() {
      if (!first.done) yield first.value
      yield* pieces
    }
    return { pieces: all(), sizeBytes: meta.sizeBytes, offset, length }
  }

  /** POST /v1/delete: a valid delete proof removes its objects. */
  async delete(raw: unknown): Promise<PackId[]> {
    const ids = await this.#proven(raw, 'delete')
    for (const id of ids) await this.deps.storage.delete(id)
    for (const t of this.#tickets.values()) for (const id of ids) t.objects.delete(toHex(id))
    return ids
  }

  /**
   * POST /v1/audit, signed by the objects' owner or sender: for each of 1–16 objects, the leaves
   * asked for (by index, or drawn from a seed) and their Merkle paths, from the stored bytes.
   */
  async audit(signer: NodeId, raw: unknown): Promise<Array<{ objectId: PackId; sizeBytes: number; proofs: MerkleProof[] }>> {
    const max = this.deps.storage.limits.maxAuditLeaves
    const body = object(raw, 'the audit request', ['objects'])
    const asks = list(body.objects, 'objects', 1, OWNERSHIP_BATCH, (v, w) => {
      const o = object(v, w, ['objectId', 'leafIndices', 'seed', 'count'])
      const objectId = asPackId(hexBytes(o.objectId, `${w}.objectId`, 32))
      if ((o.leafIndices === undefined) === (o.seed === undefined)) throw inputInvalid(`${w} names either leafIndices or a seed and a count`)
      if (o.leafIndices !== undefined) {
        if (o.count !== undefined) throw inputInvalid(`${w}.count goes with a seed`)
        return { objectId, leafIndices: list(o.leafIndices, `${w}.leafIndices`, 1, max, (x, xw) => integer(x, xw, 0, Number.MAX_SAFE_INTEGER)) }
      }
      return { objectId, seed: hexBytes(o.seed, `${w}.seed`, 32), count: integer(o.count, `${w}.count`, 1, max) }
    })
    const total = asks.reduce((n, a) => n + ('count' in a ? (a.count as number) : (a.leafIndices as number[]).length), 0)
    if (total > max) throw inputInvalid(`an audit asks for at most ${max} leaves in all`)
    const out: Array<{ objectId: PackId; sizeBytes: number; proofs: MerkleProof[] }> = []
    for (const a of asks) {
      const meta = this.deps.storage.meta(a.objectId)
      // Unknown and not-yours answer alike, so audits cannot probe for other owners' objects.
      if (!meta || !(bytesEqual(meta.ownerNodeId, signer) || bytesEqual(meta.senderNodeId, signer))) throw objectMissing(shortHex(a.objectId))
      const leaves = 'seed' in a ? sampleLeafIndices(this.deps.sodium, a.seed as Uint8Array, meta.sizeBytes, a.count as number) : (a.leafIndices as number[])
      out.push({ objectId: a.objectId, sizeBytes: meta.sizeBytes, proofs: await this.deps.storage.audit(a.objectId, leaves) })
    }
    return out
  }

  /** POST /v1/lease, signed by an owner: renews the lease on all its objects here at once. */
  renewLease(signer: NodeId, leaseMs: number): { renewedAtMs: number; expiresAtMs: number } {
    const renewedAtMs = this.deps.storage.renewLease(signer)
    return { renewedAtMs, expiresAtMs: renewedAtMs + leaseMs }
  }

  announcement(): Announcement {
    return this.deps.announcement()
  }

  /** GET /v1/peers: the current announcements this node knows, for peer exchange. */
  peers(): Announcement[] {
    return this.deps.directory.announcements()
  }

  /** POST /v1/peers: another node's signed announcement, verified, kept until it expires. */
  learnPeer(raw: unknown): Announcement {
    return this.deps.directory.learn(raw, 'announced')
  }

  putPointer(locator: Uint8Array, raw: unknown): SignedPointer {
    return this.deps.publicStore.putPointer(locator, raw)
  }

  getPointer(locator: Uint8Array): SignedPointer {
    return this.deps.publicStore.getPointer(locator)
  }

  putBlob(locator: Uint8Array, sha256: Uint8Array, signature: Uint8Array, bytes: Uint8Array): Promise<void> {
    return this.deps.publicStore.putBlob(locator, sha256, signature, bytes)
  }

  getBlob(locator: Uint8Array, sha256: Uint8Array): Promise<Uint8Array> {
    return this.deps.publicStore.getBlob(locator, sha256)
  }

  #sweepTickets(): void {
    const now = this.deps.clock.nowMs()
    for (const [k, t] of this.#tickets) if (t.expiresAtMs <= now) this.#tickets.delete(k)
  }
}

export const parseNodeId = (hex: unknown, what: string): NodeId => asNodeId(hexBytes(hex, what, 32))
