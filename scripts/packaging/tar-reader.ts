/** A minimal ustar/GNU tar reader, enough to inspect .spk files and their package.tgz. */
export interface TarEntry {
  mode: number
  /** '0' file, '5' directory, '2' symlink, … */
  type: string
  data: Buffer
}

export function readTar(buf: Buffer): Map<string, TarEntry> {
  const out = new Map<string, TarEntry>()
  let longName: string | null = null
  for (let off = 0; off + 512 <= buf.length; ) {
    const h = buf.subarray(off, off + 512)
    if (h.every((b) => b === 0)) break
    const field = (a: number, b: number) => h.toString('utf8', a, b).replace(/\0.*$/s, '')
    const size = parseInt(field(124, 136).trim() || '0', 8)
    const type = String.fromCharCode(h[156] || 48)
    const data = buf.subarray(off + 512, off + 512 + size)
    if (data.length !== size) throw new Error('truncated tar entry')
    off += 512 + Math.ceil(size / 512) * 512
    if (type === 'L') {
      longName = data.toString('utf8').replace(/\0.*$/s, '')
      continue
    }
    const prefix = field(345, 500)
    let name = longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100))
    longName = null
    name = name.replace(/^\.\//, '').replace(/\/$/, '')
    if (name && name !== '.') out.set(name, { mode: parseInt(field(100, 108).trim() || '0', 8), type, data })
  }
  return out
}
