import type { Sodium } from '../ports/sodium.js'

/**
 * Merkle trees need only SHA-256 (a narrow view, so helper threads can supply it alone), and use
 * a whole-tree merkleRoot where the platform has a faster one.
 */
export type Sha256 = Pick<Sodium, 'sha256Parts' | 'merkleRoot'>
import { inputInvalid } from '../errors.js'
import { bytesEqual, u64LE } from '../../shared/bytes.js'

/**
 * Merkle tree over an object's 4 KiB leaves, for audits: the owner keeps only the 32-byte root,
 * and a storage node proves it still holds a leaf by sending the leaf and its sibling path.
 *
 *   leaf hash   = SHA-256(0x00 || leaf bytes)        (the last leaf may be shorter than 4 KiB)
 *   inner node  = SHA-256(0x01 || left || right)
 *   a level of odd length promotes its last node unchanged to the next level
 *   root        = SHA-256(0x02 || u64le(object size) || top node)
 *
 * Domain tags keep leaves and inner nodes apart (no second preimages across levels), and the
 * root binds the object size, so the shape of the tree is fixed by the root.
 */
export const MERKLE_LEAF_BYTES = 4096
const LEAF_TAG = new Uint8Array([0x00])
const NODE_TAG = new Uint8Array([0x01])
const ROOT_TAG = new Uint8Array([0x02])

export interface MerkleProof {
  leafIndex: number
  leaf: Uint8Array
  /** Sibling hashes from the leaf level up; levels where the node was promoted have none. */
  siblings: Uint8Array[]
}

export function leafCount(objectBytes: number): number {
  return Math.ceil(objectBytes / MERKLE_LEAF_BYTES)
}

/** Level sizes from the leaves (index 0) up to the top (length 1). */
function levelSizes(objectBytes: number): number[] {
  const sizes = [leafCount(objectBytes)]
  while ((sizes[sizes.length - 1] as number) > 1) sizes.push(Math.ceil((sizes[sizes.length - 1] as number) / 2))
  return sizes
}

function hashLeaf(sodium: Sha256, leaf: Uint8Array): Uint8Array {
  return sodium.sha256Parts([LEAF_TAG, leaf])
}

function hashNode(sodium: Sha256, left: Uint8Array, right: Uint8Array): Uint8Array {
  return sodium.sha256Parts([NODE_TAG, left, right])
}

function finalRoot(sodium: Sha256, objectBytes: number, top: Uint8Array): Uint8Array {
  return sodium.sha256Parts([ROOT_TAG, u64LE(objectBytes), top])
}

/** The whole tree of one object; build once, then root and any number of proofs. */
export class MerkleTree {
  readonly root: Uint8Array
  readonly #levels: Uint8Array[][]
  readonly #object: Uint8Array

  constructor(sodium: Sha256, object: Uint8Array) {
    if (object.length === 0) throw inputInvalid('an empty object has no Merkle tree')
    this.#object = object
    const leaves: Uint8Array[] = []
    for (let at = 0; at < object.length; at += MERKLE_LEAF_BYTES) {
      leaves.push(hashLeaf(sodium, object.subarray(at, Math.min(at + MERKLE_LEAF_BYTES, object.length))))
    }
    const levels = [leaves]
    let level = leaves
    while (level.length > 1) {
      const next: Uint8Array[] = []
      for (let i = 0; i < level.length; i += 2) {
        next.push(i + 1 < level.length ? hashNode(sodium, level[i] as Uint8Array, level[i + 1] as Uint8Array) : (level[i] as Uint8Array))
      }
      levels.push(next)
      level = next
    }
    this.#levels = levels
    this.root = finalRoot(sodium, object.length, level[0] as Uint8Array)
  }

  get leafCount(): number {
    return (this.#levels[0] as Uint8Array[]).length
  }

  proof(leafIndex: number): MerkleProof {
    if (!Number.isInteger(leafIndex) || leafIndex < 0 || leafIndex >= this.leafCount) throw inputInvalid(`leaf index ${leafIndex} is out of range`)
    const siblings: Uint8Array[] = []
    let i = leafIndex
    for (let l = 0; l < this.#levels.length - 1; l++) {
      const level = this.#levels[l] as Uint8Array[]
      const sibling = i ^ 1
      if (sibling < level.length) siblings.push(level[sibling] as Uint8Array)
      i >>= 1
    }
    const start = leafIndex * MERKLE_LEAF_BYTES
    return { leafIndex, leaf: this.#object.slice(start, Math.min(start + MERKLE_LEAF_BYTES, this.#object.length)), siblings }
  }
}

export function merkleRoot(sodium: Sha256, object: Uint8Array): Uint8Array {
  if (object.length > 0 && sodium.merkleRoot) return sodium.merkleRoot(object)
  return new MerkleTree(sodium, object).root
}

/**
 * Checks one audited leaf against the root the owner kept. Returns false (never throws) for any
 * malformed or wrong answer: audit answers are untrusted network input.
 */
export function verifyMerkleProof(sodium: Sha256, root: Uint8Array, objectBytes: number, proof: MerkleProof): boolean {
  if (!Number.isSafeInteger(objectBytes) || objectBytes <= 0) return false
  const sizes = levelSizes(objectBytes)
  const leaves = sizes[0] as number
  const { leafIndex, leaf, siblings } = proof
  if (!Number.isInteger(leafIndex) || leafIndex < 0 || leafIndex >= leaves) return false
  const expectedLeafBytes = leafIndex === leaves - 1 ? objectBytes - leafIndex * MERKLE_LEAF_BYTES : MERKLE_LEAF_BYTES
  if (!(leaf instanceof Uint8Array) || leaf.length !== expectedLeafBytes || !Array.isArray(siblings)) return false
  let hash = hashLeaf(sodium, leaf)
  let i = leafIndex
  let used = 0
  for (let l = 0; l < sizes.length - 1; l++) {
    const sibling = i ^ 1
    if (sibling < (sizes[l] as number)) {
      const s = siblings[used++]
      if (!(s instanceof Uint8Array) || s.length !== 32) return false
      hash = (i & 1) === 0 ? hashNode(sodium, hash, s) : hashNode(sodium, s, hash)
    }
    i >>= 1
  }
  if (used !== siblings.length) return false
  return bytesEqual(finalRoot(sodium, objectBytes, hash), root)
}

/**
 * Leaf indices to challenge, drawn from a seed with SHA-256 in counter mode so both sides can
 * recompute them: index_k = u32le(SHA-256(seed || u32le(k))[0..4]) mod leafCount (bias below
 * 2^-20 for objects of up to 4096 leaves; irrelevant for sampling).
 */
export function sampleLeafIndices(sodium: Sha256, seed: Uint8Array, objectBytes: number, count: number): number[] {
  const leaves = leafCount(objectBytes)
  const out: number[] = []
  for (let k = 0; k < count; k++) {
    const counter = new Uint8Array(4)
    new DataView(counter.buffer).setUint32(0, k, true)
    const h = sodium.sha256Parts([seed, counter])
    out.push(new DataView(h.buffer, h.byteOffset, 4).getUint32(0, true) % leaves)
  }
  return out
}
