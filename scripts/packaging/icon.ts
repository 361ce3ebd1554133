/**
 * Quloud's icon, drawn in code so every size comes from the manifest's two colours: a rounded
 * square with a "Q" (a ring and a tail), anti-aliased by 4x4 supersampling, encoded as RGBA PNG.
 */
import { deflateSync, crc32 } from 'node:zlib'

const hex = (c: string): [number, number, number] => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)) as [number, number, number]

/** Coverage (0..1) of the shapes at a point in the unit square. */
function shapes(x: number, y: number): { tile: boolean; mark: boolean } {
  const r = 0.2 // corner radius
  const cx = Math.min(Math.max(x, r), 1 - r)
  const cy = Math.min(Math.max(y, r), 1 - r)
  const tile = x >= 0 && x <= 1 && y >= 0 && y <= 1 && (x - cx) ** 2 + (y - cy) ** 2 <= r * r
  const d = Math.hypot(x - 0.47, y - 0.47)
  const ring = d >= 0.2 && d <= 0.31
  // The tail: a thick segment from the ring's lower right outwards.
  const [ax, ay, bx, by] = [0.58, 0.58, 0.8, 0.8]
  const t = Math.max(0, Math.min(1, ((x - ax) * (bx - ax) + (y - ay) * (by - ay)) / ((bx - ax) ** 2 + (by - ay) ** 2)))
  const tail = Math.hypot(x - (ax + t * (bx - ax)), y - (ay + t * (by - ay))) <= 0.06
  return { tile, mark: tile && (ring || tail) }
}

export function iconRgba(size: number, background: string, foreground: string): Uint8Array {
  const bg = hex(background)
  const fg = hex(foreground)
  const out = new Uint8Array(size * size * 4)
  const S = 4
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let tile = 0
      let mark = 0
      for (let sy = 0; sy < S; sy++) {
        for (let sx = 0; sx < S; sx++) {
          const s = shapes((px + (sx + 0.5) / S) / size, (py + (sy + 0.5) / S) / size)
          if (s.tile) tile++
          if (s.mark) mark++
        }
      }
      const o = (py * size + px) * 4
      const alpha = tile / (S * S)
      const m = tile === 0 ? 0 : mark / tile
      for (let c = 0; c < 3; c++) out[o + c] = Math.round((bg[c] as number) * (1 - m) + (fg[c] as number) * m)
      out[o + 3] = Math.round(alpha * 255)
    }
  }
  return out
}

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8)
  head.writeUInt32BE(data.length, 0)
  head.write(type, 4, 'latin1')
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0)
  return Buffer.concat([head, data, crc])
}

/** A deterministic PNG (8-bit RGBA, no ancillary chunks) of the icon at this size. */
export function iconPng(size: number, background: string, foreground: string): Buffer {
  const rgba = iconRgba(size, background, foreground)
  const raw = Buffer.alloc(size * (size * 4 + 1))
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0 // filter: none
    raw.set(rgba.subarray(y * size * 4, (y + 1) * size * 4), y * (size * 4 + 1) + 1)
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(size, 0)
  ihdr.writeUInt32BE(size, 4)
  ihdr.set([8, 6, 0, 0, 0], 8)
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  return Buffer.concat([sig, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', new Uint8Array(0))])
}

/** The same drawing as SVG, for catalogs that take vector icons (TrueNAS). */
export function iconSvg(background: string, foreground: string): string {
  return [
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100" width="256" height="256">',
    `  <rect width="100" height="100" rx="20" fill="${background}"/>`,
    `  <circle cx="47" cy="47" r="25.5" fill="none" stroke="${foreground}" stroke-width="11"/>`,
    `  <line x1="58" y1="58" x2="80" y2="80" stroke="${foreground}" stroke-width="12" stroke-linecap="round"/>`,
    '</svg>',
    '',
  ].join('\n')
}
