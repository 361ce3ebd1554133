import { asChunkId, asPackId, type ChunkId, type PackId } from '../ids.js'
import { inputInvalid } from '../errors.js'
import { fromHex, toHex } from '../../shared/bytes.js'
import { MAX_CHUNK_BYTES } from '../chunking/index.js'
import { ENVELOPE_OVERHEAD_BYTES } from '../crypto/index.js'
import { PACK_MAX_BYTES } from '../pack/index.js'

/**
 * Where one chunk of a snapshot lives: enough to fetch exactly its envelope from any replica of
 * its pack and check it, with no local index (recovery starts with none).
 */
export interface ChunkRef {
  chunkId: ChunkId
  packId: PackId
  offsetBytes: number
  sealedBytes: number
  plainBytes: number
}

/** Text form inside manifests: "chunkIdHex:packIdHex:offset:sealedBytes:plainBytes". */
export function encodeRef(r: ChunkRef): string {
  return `${toHex(r.chunkId)}:${toHex(r.packId)}:${r.offsetBytes}:${r.sealedBytes}:${r.plainBytes}`
}

const REF_RE = /^([0-9a-f]{64}):([0-9a-f]{64}):(0|[1-9][0-9]{0,8}):([1-9][0-9]{0,7}):(0|[1-9][0-9]{0,7})$/

/** Parses an untrusted ref; every number is range-checked against the pack format's limits. */
export function decodeRef(v: unknown, where: string): ChunkRef {
  const m = typeof v === 'string' ? REF_RE.exec(v) : null
  if (!m) throw inputInvalid(`${where}: malformed chunk reference`)
  const offsetBytes = Number(m[3])
  const sealedBytes = Number(m[4])
  const plainBytes = Number(m[5])
  if (plainBytes > MAX_CHUNK_BYTES || sealedBytes !== plainBytes + ENVELOPE_OVERHEAD_BYTES || offsetBytes + sealedBytes > PACK_MAX_BYTES) {
    throw inputInvalid(`${where}: chunk reference out of range`)
  }
  return { chunkId: asChunkId(fromHex(m[1] as string) as Uint8Array), packId: asPackId(fromHex(m[2] as string) as Uint8Array), offsetBytes, sealedBytes, plainBytes }
}

export function decodeRefs(v: unknown, where: string, max = 1_000_000): ChunkRef[] {
  if (!Array.isArray(v) || v.length > max) throw inputInvalid(`${where}: expected a list of chunk references`)
  return v.map((r, i) => decodeRef(r, `${where}[${i}]`))
}
