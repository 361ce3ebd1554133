import { inputInvalid, pathUnsafe } from '../errors.js'
import { checkEntryName } from './names.js'
import { decodeRef, decodeRefs, encodeRef, type ChunkRef } from './chunk-ref.js'

export const TREE_FORMAT_VERSION = 1
/** Entries one directory manifest may hold; a bigger folder is refused rather than guessed at. */
export const MAX_TREE_ENTRIES = 2_000_000

interface EntryBase {
  name: string
  /** Permission bits (mode & 0o7777). */
  mode: number
  mtimeMs: number
}
export interface FileEntry extends EntryBase {
  kind: 'file'
  sizeBytes: number
  chunks: ChunkRef[]
}
export interface DirEntry extends EntryBase {
  kind: 'dir'
  /** The chunks of the sub-directory's own manifest. */
  tree: ChunkRef[]
}
export interface SymlinkEntry extends EntryBase {
  kind: 'symlink'
  target: string
}
export type TreeEntry = FileEntry | DirEntry | SymlinkEntry

const KIND_CODE = { file: 'f', dir: 'd', symlink: 'l' } as const

/**
 * A directory manifest (docs/FORMAT.md §10): UTF-8 JSON `{"v":1,"entries":[…]}` with entries
 * sorted by name, each `{n, t, m, mt}` plus `s` and `c` (size, chunk refs) for files, `c` (the
 * sub-manifest's chunk refs) for folders, `l` (target) for symlinks. It is chunked, encrypted
 * and packed like file data, so identical folders give identical chunks and deduplicate.
 */
export function encodeTree(entries: readonly TreeEntry[]): Uint8Array {
  const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  // Written out directly rather than through objects and JSON.stringify (the same bytes, as the
  // tests check): a rescan of a large share encodes every folder again.
  const parts: string[] = []
  for (const e of sorted) {
    let out = `{"n":${JSON.stringify(e.name)},"t":"${KIND_CODE[e.kind]}","m":${e.mode & 0o7777},"mt":${JSON.stringify(e.mtimeMs)}`
    if (e.kind === 'file') out += `,"s":${JSON.stringify(e.sizeBytes)},"c":${refList(e.chunks)}}`
    else if (e.kind === 'dir') out += `,"c":${refList(e.tree)}}`
    else out += `,"l":${JSON.stringify(e.target)}}`
    parts.push(out)
  }
  return new TextEncoder().encode(`{"v":${TREE_FORMAT_VERSION},"entries":[${parts.join(',')}]}`)
}

/** Encoded refs are hex digits, digits and colons: nothing to escape. */
const refList = (refs: readonly ChunkRef[]) => (refs.length === 0 ? '[]' : `["${refs.map(encodeRef).join('","')}"]`)

const FILE_KEYS = ['c', 'm', 'mt', 'n', 's', 't']
const DIR_KEYS = ['c', 'm', 'mt', 'n', 't']
const LINK_KEYS = ['l', 'm', 'mt', 'n', 't']

/** Whether a parsed JSON object has exactly these fields, no fewer and no others. */
function hasExactly(r: Record<string, unknown>, keys: readonly string[]): boolean {
  let count = 0
  for (const k in r) if (Object.hasOwn(r, k)) count++
  return count === keys.length && keys.every((k) => Object.hasOwn(r, k))
}

function num(v: unknown, where: string, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > max) throw inputInvalid(`${where} is out of range`)
  return v
}

/**
 * Parses an untrusted directory manifest. Every name is checked (PATH_UNSAFE for "..", "/", NUL,
 * duplicates); sizes must equal the sum of their chunks; unknown fields are refused.
 */
export function decodeTree(bytes: Uint8Array, where: string): TreeEntry[] {
  let doc: unknown
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch {
    throw inputInvalid(`${where} is not a valid manifest`)
  }
  const d = doc as { v?: unknown; entries?: unknown }
  if (typeof doc !== 'object' || doc === null || d.v !== TREE_FORMAT_VERSION || !Array.isArray(d.entries) || d.entries.length > MAX_TREE_ENTRIES) {
    throw inputInvalid(`${where} is not a version ${TREE_FORMAT_VERSION} manifest`)
  }
  const seen = new Set<string>()
  return d.entries.map((raw, i): TreeEntry => {
    const at = `${where} entry ${i}`
    if (typeof raw !== 'object' || raw === null) throw inputInvalid(`${at} is not an object`)
    const r = raw as Record<string, unknown>
    const name = checkEntryName(r.n)
    if (seen.has(name)) throw pathUnsafe(name, `${where} names it twice`)
    seen.add(name)
    const mode = num(r.m, `${at} mode`, 0o7777)
    if (!Number.isInteger(mode)) throw inputInvalid(`${at} mode is not an integer`)
    const base = { name, mode, mtimeMs: num(r.mt, `${at} mtime`, 8.64e15) }
    if (r.t === 'f' && hasExactly(r, FILE_KEYS)) {
      const chunks = decodeRefs(r.c, `${at} chunks`)
      const sizeBytes = num(r.s, `${at} size`, Number.MAX_SAFE_INTEGER)
      if (chunks.reduce((n, c) => n + c.plainBytes, 0) !== sizeBytes) throw inputInvalid(`${at} size does not match its chunks`)
      return { ...base, kind: 'file', sizeBytes, chunks }
    }
    if (r.t === 'd' && hasExactly(r, DIR_KEYS)) {
      const tree = decodeRefs(r.c, `${at} manifest`)
      if (tree.length === 0) throw inputInvalid(`${at} has no manifest`)
      return { ...base, kind: 'dir', tree }
    }
    if (r.t === 'l' && hasExactly(r, LINK_KEYS) && typeof r.l === 'string' && r.l.length > 0 && r.l.length <= 4096 && !r.l.includes('\0')) {
      return { ...base, kind: 'symlink', target: r.l }
    }
    throw inputInvalid(`${at} is not a file, folder or symlink entry`)
  })
}

export { decodeRef }
