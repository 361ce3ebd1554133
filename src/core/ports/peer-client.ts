import type { NodeId, PackId } from '../ids.js'
import type { Announcement, Receipt, SignedPointer } from '../protocol/index.js'
import type { MerkleProof } from '../audit/index.js'
import type { Groth16Proof } from './prover.js'

/** One object of an audit: the leaves by index, or count leaves drawn from a 32-byte seed. */
export type AuditAsk = { objectId: PackId; leafIndices: number[] } | { objectId: PackId; seed: Uint8Array; count: number }

export interface ProvenRequest {
  nonce: Uint8Array
  objectIds: PackId[]
  proof: Groth16Proof
}

/**
 * The owner's side of the federation protocol with one peer (docs/PROTOCOL.md).
 * - The first call verifies the peer's signed announcement and that the TLS certificate it serves
 *   is the one the announcement names; from then on the certificate is pinned. A different one
 *   is SIGNATURE_INVALID and nothing is sent.
 * - Errors the peer reports keep their code (e.g. QUOTA_EXCEEDED, PROOF_REJECTED); a peer that
 *   cannot be reached or times out is PEER_UNREACHABLE (retryable); anything unintelligible is
 *   PEER_REFUSED. Idempotent calls are retried a bounded number of times.
 * - Every answer is validated; a receipt must be signed by the peer for exactly what was sent.
 */
/**
 * A request body sent from where it lies instead of from one buffer: its length and SHA-256 are
 * known before it is sent (the request signature covers the hash), its bytes are read piece by
 * piece each time it is sent, again on a retry. pieces() yields exactly `length` bytes in all, or
 * throws. The client asks for the next piece only once the connection is done with the one
 * before (written out, or the request failed), so one buffer may carry every piece in turn.
 */
export interface StreamedBody {
  readonly length: number
  readonly sha256: Uint8Array
  pieces(): AsyncIterable<Uint8Array>
}

export interface PeerClient {
  readonly url: string
  /** The peer's node id once its announcement was verified. */
  readonly nodeId: NodeId | null
  announcement(): Promise<Announcement>
  peers(): Promise<Announcement[]>
  nonce(): Promise<Uint8Array>
  putOwnerKey(keyBytes: Uint8Array): Promise<Uint8Array>
  /** Stores an object; `bytes` in memory, or streamed from where it lies (a spooled pack). */
  store(o: { objectId: PackId; ownerNodeId: NodeId; commitment: string; merkleRoot: Uint8Array; ownerKeySha256: Uint8Array; bytes: Uint8Array | StreamedBody }): Promise<Receipt>
  grantFetch(req: ProvenRequest): Promise<{ ticket: Uint8Array; expiresAtMs: number }>
  /**
   * An object or a byte range of it. With `into` (exactly `length` bytes), a range is read into
   * that memory and returned as it: a caller restoring many ranges reuses its buffers.
   */
  fetch(objectId: PackId, ticket: Uint8Array, range?: { offset: number; length: number; into?: Uint8Array }): Promise<Uint8Array>
  delete(req: ProvenRequest): Promise<PackId[]>
  /** Leaves of one object by index; auditMany() asks for several objects, by index or by seed. */
  audit(objectId: PackId, leafIndices: number[]): Promise<{ sizeBytes: number; proofs: MerkleProof[] }>
  auditMany(asks: AuditAsk[]): Promise<Array<{ objectId: PackId; sizeBytes: number; proofs: MerkleProof[] }>>
  /** Renews this owner's lease on all its objects at the peer (one signed message). */
  renewLease(): Promise<{ renewedAtMs: number; expiresAtMs: number }>
  /** Tells the peer about a node (usually this one), for peer exchange. */
  announce(announcement: Announcement): Promise<void>
  /** The newest pointer the peer keeps, signature checked against the locator. */
  getPointer(locator: Uint8Array): Promise<SignedPointer>
  putPointer(pointer: SignedPointer): Promise<void>
  /** A public blob; its bytes are checked against the SHA-256 they are named by. */
  getBlob(locator: Uint8Array, sha256: Uint8Array): Promise<Uint8Array>
  putBlob(locator: Uint8Array, signature: Uint8Array, bytes: Uint8Array): Promise<Uint8Array>
  close(): Promise<void>
}

/**
 * Raw access to a peer for the conformance suite, which must send what a well-behaved client
 * never would (unsigned, malformed, oversized) and read the status and error code it gets back.
 * Uses the same pinned certificate as the PeerClient it comes from.
 */
export interface RawPeer {
  request(method: 'GET' | 'POST' | 'PUT', path: string, opts?: { body?: Uint8Array; headers?: Record<string, string>; signed?: boolean }): Promise<{ status: number; errorCode: string | null; body: Uint8Array }>
  /** The TLS version a default handshake negotiates, and whether the peer also accepts TLS 1.2. */
  tlsProbe(): Promise<{ negotiated: string; acceptsTls12: boolean }>
}

/**
 * Opens a client of one peer. `identity` signs what the client sends (the owner id for owner
 * work); a pinned fingerprint or an expected node id are enforced from the first request on.
 */
export type ConnectPeer = (url: string, opts: { identity: import('../identity.js').NodeIdentity; pinnedCertSha256?: Uint8Array; expectNodeId?: NodeId }) => PeerClient
