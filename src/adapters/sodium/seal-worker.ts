/**
 * Worker thread body of WorkerChunkSealer: FastCDC, chunk ids, envelopes and Merkle roots off the
 * main thread. Every request carries a `rid`; every reply echoes it.
 *   { op: 'whole', keys, sizes, data }            → sealed chunks of one complete buffer
 *   { op: 'files', keys, sizes, paths }           → { results: [sealed chunks | { error }] } for small local files, read here
 *   { op: 'open' | 'push' | 'finish', sid, … }    → a streamed file
 *   { op: 'merkle', object }                      → { root }
 * Sealed chunks travel as { chunks: [{ id, plainBytes, offset, length }], envelopes } with all
 * envelopes in one transferred buffer.
 */
import { parentPort } from 'node:worker_threads'
import { closeSync, fstatSync, lstatSync, openSync, readSync } from 'node:fs'
import { Chunker, type ChunkSizes } from '../../core/chunking/index.js'
import { chunkIdOf, sealChunkInto, ENVELOPE_OVERHEAD_BYTES } from '../../core/crypto/index.js'
import { merkleRoot } from '../../core/audit/index.js'
import { SodiumNativeCrypto } from './sodium-native-crypto.js'

interface Keys {
  idKey: Uint8Array
  gear: Uint32Array
  chunkKey: Uint8Array
}

const sodium = new SodiumNativeCrypto()
const streams = new Map<number, { chunker: Chunker; keys: Keys }>()
const port = parentPort
if (!port) throw new Error('seal-worker must run in a worker thread')

/** Seals chunk views (copying them into envelopes, so the views may be reused afterwards). */
function seal(keys: Keys, pieces: Uint8Array[]) {
  let total = 0
  for (const p of pieces) total += p.length + ENVELOPE_OVERHEAD_BYTES
  const envelopes = new Uint8Array(total)
  const chunks: Array<{ id: Uint8Array; plainBytes: number; offset: number; length: number }> = []
  let at = 0
  for (const p of pieces) {
    const id = chunkIdOf(sodium, keys.idKey, p)
    const length = sealChunkInto(sodium, keys.chunkKey, id, p, envelopes, at)
    chunks.push({ id, plainBytes: p.length, offset: at, length })
    at += length
  }
  return { chunks, envelopes }
}

function sealAll(keys: Keys, sizes: ChunkSizes, data: Uint8Array) {
  const pieces: Uint8Array[] = []
  new Chunker(keys.gear, sizes).chunkAll(data, (c) => pieces.push(c))
  return seal(keys, pieces)
}

/**
 * One read buffer per worker, reused for every small file (grown when a file is larger): a fresh
 * multi-megabyte allocation per file left the heap fragmented and the process large.
 */
let readBuffer = new Uint8Array(4 * 1024 * 1024 + 65536)

/** The file's bytes, as a view of the reused buffer: valid until the next call. */
function readWhole(path: string): Uint8Array {
  const fd = openSync(path, 'r')
  try {
    const size = fstatSync(fd).size
    if (readBuffer.length < size + 1) readBuffer = new Uint8Array(size + 65536)
    let filled = 0
    for (;;) {
      if (filled === readBuffer.length) {
        // The file grew since fstat: keep reading, the size check after reading will notice.
        const bigger = new Uint8Array(readBuffer.length * 2)
        bigger.set(readBuffer)
        readBuffer = bigger
      }
      const n = readSync(fd, readBuffer, filled, readBuffer.length - filled, filled)
      if (n === 0) break
      filled += n
    }
    return readBuffer.subarray(0, filled)
  } finally {
    closeSync(fd)
  }
}

function reply(rid: number, body: { chunks: unknown[]; envelopes: Uint8Array } & Record<string, unknown>) {
  port?.postMessage({ rid, ...body }, [body.envelopes.buffer as ArrayBuffer])
}

port.on('message', (msg: any) => {
  try {
    switch (msg.op) {
      case 'whole':
        return reply(msg.rid, sealAll(msg.keys, msg.sizes, msg.data))
      case 'files': {
        // A batch of small local files in one message; each result (or error) stands alone.
        const results = (msg.paths as string[]).map((path) => {
          try {
            const data = readWhole(path)
            const st = lstatSync(path)
            return { ...sealAll(msg.keys, msg.sizes, data), bytesRead: data.length, after: { sizeBytes: st.size, mtimeMs: st.mtimeMs } }
          } catch (err) {
            return { error: err instanceof Error ? err.message : String(err), code: (err as { code?: string }).code }
          }
        })
        const transfer = results.flatMap((r) => ('envelopes' in r ? [r.envelopes.buffer as ArrayBuffer] : []))
        return port?.postMessage({ rid: msg.rid, results }, transfer)
      }
      case 'open':
        streams.set(msg.sid, { chunker: new Chunker(msg.keys.gear, msg.sizes), keys: msg.keys })
        return
      case 'push':
      case 'finish': {
        const s = streams.get(msg.sid)
        if (!s) throw new Error(`unknown stream ${msg.sid}`)
        const pieces: Uint8Array[] = []
        const take = (c: Uint8Array) => pieces.push(c.slice()) // views into the chunker's buffer
        if (msg.op === 'push') s.chunker.push(msg.data, take)
        else {
          s.chunker.finish(take)
          streams.delete(msg.sid)
        }
        return reply(msg.rid, seal(s.keys, pieces))
      }
      case 'merkle':
        return port?.postMessage({ rid: msg.rid, root: merkleRoot(sodium, msg.object) })
      default:
        throw new Error(`unknown op ${String(msg.op)}`)
    }
  } catch (err) {
    const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined
    port?.postMessage({ rid: msg.rid, error: err instanceof Error ? err.message : String(err), code })
  }
})
