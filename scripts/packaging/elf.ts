/**
 * Just enough ELF to check a native add-on before it ships: the machine it was built for and the
 * newest glibc symbol version it needs (from .gnu.version_r). DSM 7.2 has glibc 2.36.
 */
export const ELF_MACHINES: Record<number, string> = { 62: 'x86_64', 183: 'aarch64', 40: 'arm', 3: 'i386' }

export interface ElfInfo {
  machine: string
  /** Newest GLIBC_x.y[.z] the file references, or null when it needs none. */
  maxGlibc: string | null
  /** Every versioned library the file needs, e.g. libc.so.6. */
  needs: string[]
}

export class ElfError extends Error {}

const cmpVersion = (a: string, b: string): number => {
  const pa = a.split('.').map(Number)
  const pb = b.split('.').map(Number)
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0)
    if (d !== 0) return d
  }
  return 0
}
export const glibcAtMost = (have: string | null, limit: string): boolean => have === null || cmpVersion(have, limit) <= 0

export function readElf(buf: Buffer, name = 'file'): ElfInfo {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46) throw new ElfError(`${name} is not an ELF file`)
  if (buf[4] !== 2 || buf[5] !== 1) throw new ElfError(`${name} is not a 64-bit little-endian ELF file`)
  const machine = ELF_MACHINES[buf.readUInt16LE(18)] ?? `machine ${buf.readUInt16LE(18)}`
  const shoff = Number(buf.readBigUInt64LE(40))
  const shentsize = buf.readUInt16LE(58)
  const shnum = buf.readUInt16LE(60)
  if (shoff + shnum * shentsize > buf.length) throw new ElfError(`${name} has a truncated section table`)
  const sections = Array.from({ length: shnum }, (_, i) => {
    const o = shoff + i * shentsize
    return { type: buf.readUInt32LE(o + 4), offset: Number(buf.readBigUInt64LE(o + 24)), size: Number(buf.readBigUInt64LE(o + 32)), link: buf.readUInt32LE(o + 40), info: buf.readUInt32LE(o + 44) }
  })
  const SHT_GNU_VERNEED = 0x6ffffffe
  const needs: string[] = []
  let maxGlibc: string | null = null
  for (const s of sections.filter((x) => x.type === SHT_GNU_VERNEED)) {
    const strtab = sections[s.link]
    if (!strtab) throw new ElfError(`${name}: bad string table link`)
    const cstr = (off: number) => {
      const start = strtab.offset + off
      const end = buf.indexOf(0, start)
      return buf.toString('latin1', start, end)
    }
    let at = s.offset
    for (let n = 0; n < s.info; n++) {
      const cnt = buf.readUInt16LE(at + 2)
      needs.push(cstr(buf.readUInt32LE(at + 4)))
      let aux = at + buf.readUInt32LE(at + 8)
      for (let k = 0; k < cnt; k++) {
        const v = cstr(buf.readUInt32LE(aux + 8))
        const m = /^GLIBC_(\d+(?:\.\d+)+)$/.exec(v)
        if (m && (maxGlibc === null || cmpVersion(m[1] as string, maxGlibc) > 0)) maxGlibc = m[1] as string
        aux += buf.readUInt32LE(aux + 12)
      }
      const next = buf.readUInt32LE(at + 12)
      if (next === 0) break
      at += next
    }
  }
  return { machine, maxGlibc, needs }
}
