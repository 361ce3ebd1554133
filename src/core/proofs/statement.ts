import type { Poseidon } from '../ports/poseidon.js'
import type { OwnershipInput } from '../ports/prover.js'
import { inputInvalid } from '../errors.js'
import { isCanonicalFieldElement } from '../crypto/index.js'
import { ACTION_FIELD, type ProofAction } from './field-mapping.js'

/**
 * The ownership statement (circuits/ownership.circom): for i in 0..B-1,
 * commitment_i == Poseidon(proofKey, objectId_i), bound to one nonce, one node and one action.
 */
/** Objects per proof; circuits/ownership.circom is compiled for this B (see CIRCUIT_POWER). */
export const OWNERSHIP_BATCH = 16

/** commitment = Poseidon(proofKey, objectId): what a storage node keeps for each object. */
export function commitmentOf(poseidon: Poseidon, proofKey: bigint, objectIdField: bigint): bigint {
  return poseidon.hash([proofKey, objectIdField])
}

export interface StatementItem {
  objectId: bigint
  commitment: bigint
}

export interface StatementContext {
  nonce: bigint
  nodeId: bigint
  action: ProofAction
}

/**
 * Fills a batch of 1..B items up to B by repeating the first item: padding only ever uses a pair
 * the requester can prove, never values it could not.
 */
export function padBatch(items: readonly StatementItem[], batch = OWNERSHIP_BATCH): StatementItem[] {
  if (items.length < 1 || items.length > batch) throw inputInvalid(`a proof covers 1 to ${batch} objects`)
  const first = items[0] as StatementItem
  return [...items, ...Array.from({ length: batch - items.length }, () => first)]
}

/**
 * The public signals in the circuit's order: objectIds[B], commitments[B], nonce, nodeId, action.
 * A verifier builds these from its own state, never from the request.
 */
export function publicSignals(items: readonly StatementItem[], ctx: StatementContext, batch = OWNERSHIP_BATCH): string[] {
  const padded = padBatch(items, batch)
  return [
    ...padded.map((i) => i.objectId.toString()),
    ...padded.map((i) => i.commitment.toString()),
    ctx.nonce.toString(),
    ctx.nodeId.toString(),
    ACTION_FIELD[ctx.action].toString(),
  ]
}

/** The prover's circuit input for the same statement. */
export function ownershipInput(proofKey: bigint, items: readonly StatementItem[], ctx: StatementContext, batch = OWNERSHIP_BATCH): OwnershipInput {
  const padded = padBatch(items, batch)
  const all = [proofKey, ctx.nonce, ctx.nodeId, ...padded.flatMap((i) => [i.objectId, i.commitment])]
  if (!all.every(isCanonicalFieldElement)) throw inputInvalid('every proof input must be a canonical field element')
  return {
    proofKey: proofKey.toString(),
    objectIds: padded.map((i) => i.objectId.toString()),
    commitments: padded.map((i) => i.commitment.toString()),
    nonce: ctx.nonce.toString(),
    nodeId: ctx.nodeId.toString(),
    action: ACTION_FIELD[ctx.action].toString(),
  }
}
