import type { Sodium } from '../ports/sodium.js'
import type { NodeIdentity } from '../identity.js'
import { asNodeId, type NodeId } from '../ids.js'
import { signatureInvalid } from '../errors.js'
import { fromBase64, fromHex, toBase64, toHex } from '../../shared/bytes.js'
import { signingBytes } from './canonical.js'
import { CLOCK_SKEW_MS } from './announcement.js'

export const REQUEST_LABEL = 'quloud:request:v1'
export const HEADER_NODE = 'quloud-node'
export const HEADER_TIME = 'quloud-time'
export const HEADER_SIGNATURE = 'quloud-signature'

/**
 * A node signs a request over its method, path (with query), the SHA-256 of its body and the time
 * (docs/PROTOCOL.md §4). The storage node learns who sends (for quotas) and that nothing was
 * changed on the way; the time window bounds replays, and every signed operation is idempotent.
 */
function input(method: string, path: string, bodySha256: Uint8Array, timeMs: number, nodeId: Uint8Array): Uint8Array {
  return signingBytes(REQUEST_LABEL, { method: method.toUpperCase(), path, bodySha256: toHex(bodySha256), timeMs, nodeId: toHex(nodeId) })
}

/** `bodySha256` may be given when the caller already has it (the same pack sent to several peers). */
export function signRequest(sodium: Sodium, identity: NodeIdentity, method: string, path: string, body: Uint8Array, timeMs: number, bodySha256: Uint8Array = sodium.sha256(body)): Record<string, string> {
  const sig = sodium.sign(input(method, path, bodySha256, timeMs, identity.nodeId), identity.secretKey)
  return { [HEADER_NODE]: toHex(identity.nodeId), [HEADER_TIME]: String(timeMs), [HEADER_SIGNATURE]: toBase64(sig) }
}

/** Checks the three headers against the request; returns the signing node. SIGNATURE_INVALID otherwise. */
export function verifyRequest(sodium: Sodium, headers: Record<string, string | string[] | undefined>, method: string, path: string, bodySha256: Uint8Array, nowMs: number): NodeId {
  const one = (name: string) => {
    const v = headers[name]
    if (typeof v !== 'string' || v.length > 200) throw signatureInvalid(`the request needs one ${name} header`)
    return v
  }
  const node = /^[0-9a-f]{64}$/.test(one(HEADER_NODE)) ? fromHex(one(HEADER_NODE)) : null
  const timeText = one(HEADER_TIME)
  const timeMs = /^[0-9]{1,16}$/.test(timeText) ? Number(timeText) : NaN
  const sig = fromBase64(one(HEADER_SIGNATURE))
  if (!node || !Number.isSafeInteger(timeMs) || !sig || sig.length !== 64) throw signatureInvalid('the request signature headers are malformed')
  if (Math.abs(timeMs - nowMs) > CLOCK_SKEW_MS) throw signatureInvalid('the request is signed too far from this node\'s time (stale or from the future)')
  if (!sodium.verify(sig, input(method, path, bodySha256, timeMs, node), node)) throw signatureInvalid('the request signature does not verify')
  return asNodeId(node)
}
