import { pathUnsafe } from '../errors.js'

const MAX_NAME_BYTES = 255
const MAX_PATH_CHARS = 4096
const encoder = new TextEncoder()

/**
 * A single entry name from a manifest or a request: not empty, not "." or "..", no "/" and no NUL
 * (so it can never climb out of its folder or name another one), at most 255 bytes. Untrusted
 * input: a manifest may come from a tampered or malicious source, so every name is checked before
 * it is joined to any path.
 */
export function checkEntryName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) throw pathUnsafe(String(name), 'an entry name is empty or not text')
  if (name === '.' || name === '..') throw pathUnsafe(name, 'an entry name may not be "." or ".."')
  if (name.includes('/') || name.includes('\0') || name.includes('\\')) throw pathUnsafe(name, 'an entry name may not contain "/", "\\" or NUL')
  if (encoder.encode(name).length > MAX_NAME_BYTES) throw pathUnsafe(name, 'an entry name is longer than 255 bytes')
  return name
}

/**
 * A share-relative path from a request ("docs/a.txt", "" or "." for the whole share): split into
 * checked names. Absolute paths and ".." are PATH_UNSAFE.
 */
export function splitSharePath(path: string): string[] {
  if (path.length > MAX_PATH_CHARS) throw pathUnsafe(path, 'the path is too long')
  if (path.startsWith('/')) throw pathUnsafe(path, 'paths inside a share are relative')
  const parts = path.split('/').filter((p) => p !== '' && p !== '.')
  for (const p of parts) checkEntryName(p)
  return parts
}
