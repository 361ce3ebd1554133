import test from 'ava'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { inflateSync } from 'node:zlib'
import { parse } from 'yaml'
import { loadManifest, ManifestError, MANIFEST_PATH, validateManifest, type Manifest } from '../../scripts/packaging/manifest.js'
import { drifted, renderAll } from '../../scripts/packaging/render.js'
import { iconPng } from '../../scripts/packaging/icon.js'
import { checkUnraidTemplate } from '../../scripts/packaging/check-unraid.js'
import { ROOT } from '../helpers/build.js'

const raw = () => JSON.parse(readFileSync(MANIFEST_PATH, 'utf8'))
const text = (files: Map<string, string | Uint8Array>, path: string) => {
  const body = files.get(path)
  if (typeof body !== 'string') throw new Error(`${path} was not rendered as text`)
  return body
}

test('every packaging file matches what the manifest renders', (t) => {
  const files = renderAll(loadManifest())
  t.true(files.size > 30)
  t.deepEqual(drifted(files), [], 'run `npm run package` and commit the result')
})

test('a manifest change shows up as drift in every vendor file that carries it', (t) => {
  const m = raw()
  m.ports[0].port = 30490
  const stale = drifted(renderAll(validateManifest(m))).map((s) => s.replace(/ \(.*\)$/, ''))
  for (const path of ['packaging/container/Dockerfile', 'packaging/container/entrypoint.sh', 'packaging/unraid/templates/quloud.xml', 'packaging/truenas/quloud/questions.yaml', 'packaging/synology/INFO.in', 'packaging/synology/app/quloud.sc', 'packaging/synology/scripts/start-stop-status']) {
    t.true(stale.includes(path), `${path} should depend on the web port`)
  }
})

test('the manifest version is the package version', (t) => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
  t.is(loadManifest().version, pkg.version)
  t.is(loadManifest().license, pkg.license)
})

const broken: Array<[string, (m: any) => void, RegExp]> = [
  ['shares writable', (m) => (m.volumes.find((v: any) => v.id === 'shares').readOnly = false), /shares volume must be read-only/],
  ['privileged port', (m) => (m.ports[0].port = 80), /ports\[0\]\.port must be an integer in 1024\.\.65535/],
  ['no web port', (m) => (m.ports = m.ports.filter((p: any) => p.id !== 'web')), /must include "web" and "peer"/],
  ['same port twice', (m) => (m.ports[1].port = m.ports[0].port), /repeats an id or a port number/],
  ['secret with a default', (m) => m.env.push({ name: 'QULOUD_X', default: 'hunter2', title: 'x', description: 'x', secret: true, advanced: false }), /secret and must not have a default/],
  ['foreign env name', (m) => (m.env[0].name = 'PATH'), /env\[0\]\.name/],
  ['unknown Synology arch', (m) => (m.synology.archs = ['aarch64']), /synology\.archs/],
  ['DSM older than 7', (m) => (m.synology.osMinVersion = '6.2-25556'), /osMinVersion/],
  ['bad version', (m) => (m.version = 'v1'), /version "v1" must match/],
  ['missing maintainer email', (m) => delete m.maintainer.email, /maintainer\.email/],
]
for (const [what, mutate, message] of broken) {
  test(`the manifest is refused with a clear error: ${what}`, (t) => {
    const m = raw()
    mutate(m)
    t.throws(() => validateManifest(m), { instanceOf: ManifestError, message })
  })
}

test('an unreadable manifest file is a ManifestError naming the file', (t) => {
  t.throws(() => loadManifest(join(ROOT, 'plugin/missing.json')), { instanceOf: ManifestError, message: /cannot read .*missing\.json/ })
})

test('secrets are masked in every form and never given a value', (t) => {
  const m: Manifest = validateManifest({ ...raw(), env: [...raw().env, { name: 'QULOUD_ADMIN_PASSWORD', default: '', title: 'Admin password', description: 'Settings page password.', secret: true, advanced: false }] })
  const files = renderAll(m)
  const { errors, configs } = checkUnraidTemplate(text(files, 'packaging/unraid/templates/quloud.xml'))
  t.deepEqual(errors, [])
  const cfg = configs.find((c) => c.Target === 'QULOUD_ADMIN_PASSWORD')
  t.is(cfg?.Mask, 'true')
  t.falsy(cfg?.['#text'])
  const questions = parse(text(files, 'packaging/truenas/quloud/questions.yaml')).questions
  const attrs = questions.find((q: any) => q.variable === 'quloud').schema.attrs
  t.like(attrs.find((a: any) => a.variable === 'admin_password'), { schema: { type: 'string', default: '', private: true } })
  t.notRegex(text(files, 'packaging/container/compose.yaml'), /QULOUD_ADMIN_PASSWORD/)
})

function pngPixels(png: Buffer): { width: number; height: number; rgba: Buffer } {
  t0: for (let off = 8; off < png.length; ) {
    const len = png.readUInt32BE(off)
    const type = png.toString('latin1', off + 4, off + 8)
    if (type === 'IHDR') {
      const width = png.readUInt32BE(off + 8)
      const height = png.readUInt32BE(off + 12)
      const idat = png.subarray(png.indexOf('IDAT', 0, 'latin1') + 4, png.indexOf('IEND', 0, 'latin1') - 8)
      const raw = inflateSync(idat)
      const rgba = Buffer.alloc(width * height * 4)
      for (let y = 0; y < height; y++) raw.copy(rgba, y * width * 4, y * (width * 4 + 1) + 1, (y + 1) * (width * 4 + 1))
      return { width, height, rgba }
    }
    off += 12 + len
    continue t0
  }
  throw new Error('no IHDR')
}

test('icons are real PNGs of the declared sizes in the manifest colours', (t) => {
  const m = loadManifest()
  for (const size of [16, 64, 256]) {
    const { width, height, rgba } = pngPixels(iconPng(size, m.icon.background, m.icon.foreground))
    t.is(width, size)
    t.is(height, size)
    t.is(rgba[3], 0, 'the rounded corner is transparent')
    const edge = ((size / 2) * size + Math.floor(size * 0.08)) * 4 // near the left edge, middle row: background colour
    t.deepEqual([...rgba.subarray(edge, edge + 4)], [0x1c, 0x64, 0xd9, 255])
  }
  t.true(iconPng(64, '#000000', '#ffffff').equals(iconPng(64, '#000000', '#ffffff')), 'deterministic')
})
