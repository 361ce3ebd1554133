import type { Sodium } from '../ports/sodium.js'
import type { NodeIdentity } from '../identity.js'
import { asNodeId, type NodeId } from '../ids.js'
import { signatureInvalid } from '../errors.js'
import { toBase64, toHex } from '../../shared/bytes.js'
import { signingBytes } from './canonical.js'
import { base64Bytes, hexBytes, integer, list, object, text } from './fields.js'

export const PROTOCOL_VERSION = 1
export const ANNOUNCEMENT_LABEL = 'quloud:announcement:v1'
/** How far clocks may disagree, both for announcements and signed requests. */
export const CLOCK_SKEW_MS = 5 * 60_000
export const MAX_ANNOUNCEMENT_LIFETIME_MS = 30 * 24 * 3600_000
export const MAX_ADDRESSES = 8
const ADDRESS = /^https:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$/

/** A node's signed statement of who it is and where (docs/PROTOCOL.md §3). */
export interface Announcement {
  protocol: number
  nodeId: NodeId
  addresses: string[]
  /** SHA-256 of the DER of the TLS certificate the node serves: clients pin it. */
  certSha256: Uint8Array
  capacityBytes: number
  issuedAtMs: number
  expiresAtMs: number
  signature: Uint8Array
}

const FIELDS = ['protocol', 'nodeId', 'addresses', 'certSha256', 'capacityBytes', 'issuedAtMs', 'expiresAtMs', 'signature'] as const

function wireBody(a: Omit<Announcement, 'signature'>) {
  return { protocol: a.protocol, nodeId: toHex(a.nodeId), addresses: a.addresses, certSha256: toHex(a.certSha256), capacityBytes: a.capacityBytes, issuedAtMs: a.issuedAtMs, expiresAtMs: a.expiresAtMs }
}

export function signAnnouncement(sodium: Sodium, identity: NodeIdentity, body: Omit<Announcement, 'signature' | 'nodeId' | 'protocol'>): Announcement {
  const unsigned = { ...body, protocol: PROTOCOL_VERSION, nodeId: identity.nodeId }
  const signature = sodium.sign(signingBytes(ANNOUNCEMENT_LABEL, wireBody(unsigned)), identity.secretKey)
  return { ...unsigned, signature }
}

export function announcementToJson(a: Announcement): Record<string, unknown> {
  return { ...wireBody(a), signature: toBase64(a.signature) }
}

/**
 * Validates an untrusted announcement: shape, every field, the signature by the node id it names,
 * and that it is current. Bad shape is INPUT_INVALID; a wrong, expired or future signature is
 * SIGNATURE_INVALID.
 */
export function verifyAnnouncement(sodium: Sodium, raw: unknown, nowMs: number): Announcement {
  const o = object(raw, 'the announcement', FIELDS)
  const a: Announcement = {
    protocol: integer(o.protocol, 'protocol', 1, 1_000),
    nodeId: asNodeId(hexBytes(o.nodeId, 'nodeId', 32)),
    addresses: list(o.addresses, 'addresses', 1, MAX_ADDRESSES, (v, w) => text(v, w, ADDRESS, 200)),
    certSha256: hexBytes(o.certSha256, 'certSha256', 32),
    capacityBytes: integer(o.capacityBytes, 'capacityBytes', 0, Number.MAX_SAFE_INTEGER),
    issuedAtMs: integer(o.issuedAtMs, 'issuedAtMs', 0, Number.MAX_SAFE_INTEGER),
    expiresAtMs: integer(o.expiresAtMs, 'expiresAtMs', 0, Number.MAX_SAFE_INTEGER),
    signature: base64Bytes(o.signature, 'signature', 64, 64),
  }
  if (a.protocol !== PROTOCOL_VERSION) throw signatureInvalid(`announcement of protocol ${a.protocol}; this node speaks ${PROTOCOL_VERSION}`)
  if (!sodium.verify(a.signature, signingBytes(ANNOUNCEMENT_LABEL, wireBody(a)), a.nodeId)) throw signatureInvalid('the announcement signature does not verify for the node id it names')
  if (a.issuedAtMs > nowMs + CLOCK_SKEW_MS) throw signatureInvalid('the announcement is issued in the future')
  if (a.expiresAtMs <= nowMs) throw signatureInvalid('the announcement has expired')
  if (a.expiresAtMs - a.issuedAtMs > MAX_ANNOUNCEMENT_LIFETIME_MS) throw signatureInvalid('the announcement claims to live longer than 30 days')
  return a
}
