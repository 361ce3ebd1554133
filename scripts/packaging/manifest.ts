/**
 * The plugin manifest (plugin/quloud.plugin.json): the one source every NAS package is rendered
 * from. `loadManifest` validates it fully, so a renderer never sees a half-filled manifest.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const MANIFEST_PATH = `${ROOT}plugin/quloud.plugin.json`

export interface PortSpec {
  id: string
  port: number
  protocol: 'tcp' | 'udp'
  /** The QULOUD_* variable holding this listener's host:port. */
  env: string
  title: string
  description: string
}

export interface VolumeSpec {
  id: string
  path: string
  /**
   * The node's folder inside the mount point. The node creates it (mode 0700) as whatever uid the
   * NAS runs it with, so the mount point itself may belong to anyone.
   */
  subdir?: string
  env?: string
  readOnly: boolean
  title: string
  description: string
}

export interface EnvSpec {
  name: string
  default: string
  title: string
  description: string
  /** Masked in every NAS form (Unraid Mask, TrueNAS private). */
  secret: boolean
  advanced: boolean
}

export interface Manifest {
  manifestVersion: 1
  name: string
  title: string
  version: string
  build: number
  summary: string
  description: string
  homepage: string
  source: string
  support: string
  maintainer: { name: string; email: string; url: string }
  license: string
  categories: string[]
  keywords: string[]
  image: { repository: string }
  entry: string
  healthPath: string
  ports: PortSpec[]
  ssdp: { port: number; protocol: 'udp'; group: string; env: string; description: string }
  volumes: VolumeSpec[]
  env: EnvSpec[]
  run: { uid: number; gid: number }
  icon: { background: string; foreground: string }
  synology: { package: string; archs: Array<'x86_64' | 'armv8'>; osMinVersion: string; nodePackage: string; nodeAbi: string }
  truenas: { train: string; libVersion: string; libVersionHash: string; minScaleVersion: string; containerUtils: { repository: string; tag: string }; dateAdded: string }
  unraid: { templateRepo: string; category: string; appdata: string; sharesDefault: string; user: string }
}

export class ManifestError extends Error {}

const fail = (msg: string): never => {
  throw new ManifestError(`plugin manifest: ${msg}`)
}
const str = (v: unknown, what: string, re?: RegExp): string => {
  if (typeof v !== 'string' || v.length === 0) return fail(`${what} must be a non-empty string`)
  if (re && !re.test(v)) return fail(`${what} "${v}" must match ${re}`)
  return v
}
const int = (v: unknown, what: string, min: number, max: number): number => {
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) return fail(`${what} must be an integer in ${min}..${max}`)
  return v as number
}
const obj = (v: unknown, what: string): Record<string, unknown> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(`${what} must be an object`)
  return v as Record<string, unknown>
}
const list = (v: unknown, what: string): unknown[] => (Array.isArray(v) ? v : fail(`${what} must be an array`))

const NAME = /^[a-z][a-z0-9-]{1,30}$/
const ENV_NAME = /^QULOUD_[A-Z0-9_]+$/
const ABS_PATH = /^\/[a-z0-9/_-]+$/

/** Checks every field a renderer uses; returns the manifest typed. */
export function validateManifest(raw: unknown): Manifest {
  const m = obj(raw, 'the manifest')
  if (m.manifestVersion !== 1) fail('manifestVersion must be 1')
  str(m.name, 'name', NAME)
  str(m.title, 'title')
  str(m.version, 'version', /^\d+\.\d+\.\d+$/)
  int(m.build, 'build', 1, 9999)
  str(m.summary, 'summary')
  str(m.description, 'description')
  for (const k of ['homepage', 'source', 'support']) str(m[k], k, /^https:\/\//)
  const maint = obj(m.maintainer, 'maintainer')
  str(maint.name, 'maintainer.name')
  str(maint.email, 'maintainer.email', /^[^@\s]+@[^@\s]+\.[a-z]+$/)
  str(maint.url, 'maintainer.url', /^https:\/\//)
  str(m.license, 'license')
  for (const k of ['categories', 'keywords']) list(m[k], k).forEach((v, i) => str(v, `${k}[${i}]`, /^[a-z0-9-]+$/))
  str(obj(m.image, 'image').repository, 'image.repository', /^[a-z0-9.-]+(\/[a-z0-9._-]+)+$/)
  str(m.entry, 'entry', /^dist\/[a-z0-9/_-]+\.js$/)
  str(m.healthPath, 'healthPath', /^\/[a-z0-9/_-]*$/)
  const ids = new Set<string>()
  const numbers = new Set<number>()
  for (const [i, p] of list(m.ports, 'ports').entries()) {
    const port = obj(p, `ports[${i}]`)
    const id = str(port.id, `ports[${i}].id`, /^[a-z]+$/)
    const n = int(port.port, `ports[${i}].port`, 1024, 65535)
    if (ids.has(id) || numbers.has(n)) fail(`ports[${i}] repeats an id or a port number`)
    ids.add(id)
    numbers.add(n)
    if (port.protocol !== 'tcp') fail(`ports[${i}].protocol must be tcp`)
    str(port.env, `ports[${i}].env`, ENV_NAME)
    str(port.title, `ports[${i}].title`)
    str(port.description, `ports[${i}].description`)
  }
  if (!ids.has('web') || !ids.has('peer')) fail('ports must include "web" and "peer"')
  const ssdp = obj(m.ssdp, 'ssdp')
  int(ssdp.port, 'ssdp.port', 1, 65535)
  if (ssdp.protocol !== 'udp') fail('ssdp.protocol must be udp')
  str(ssdp.group, 'ssdp.group', /^2(2[4-9]|3\d)\.\d+\.\d+\.\d+$/)
  str(ssdp.env, 'ssdp.env', ENV_NAME)
  str(ssdp.description, 'ssdp.description')
  const vids = new Set<string>()
  for (const [i, v] of list(m.volumes, 'volumes').entries()) {
    const vol = obj(v, `volumes[${i}]`)
    vids.add(str(vol.id, `volumes[${i}].id`, /^[a-z]+$/))
    str(vol.path, `volumes[${i}].path`, ABS_PATH)
    if (vol.env !== undefined) str(vol.env, `volumes[${i}].env`, ENV_NAME)
    if (vol.subdir !== undefined) str(vol.subdir, `volumes[${i}].subdir`, /^[a-z0-9-]+$/)
    if (typeof vol.readOnly !== 'boolean') fail(`volumes[${i}].readOnly must be a boolean`)
    str(vol.title, `volumes[${i}].title`)
    str(vol.description, `volumes[${i}].description`)
  }
  if (!vids.has('data') || !vids.has('shares')) fail('volumes must include "data" and "shares"')
  const shares = (m.volumes as VolumeSpec[]).find((v) => v.id === 'shares') as VolumeSpec
  if (!shares.readOnly) fail('the shares volume must be read-only')
  for (const [i, e] of list(m.env, 'env').entries()) {
    const env = obj(e, `env[${i}]`)
    str(env.name, `env[${i}].name`, ENV_NAME)
    if (typeof env.default !== 'string') fail(`env[${i}].default must be a string`)
    str(env.title, `env[${i}].title`)
    str(env.description, `env[${i}].description`)
    if (typeof env.secret !== 'boolean' || typeof env.advanced !== 'boolean') fail(`env[${i}].secret and .advanced must be booleans`)
    if (env.secret && env.default !== '') fail(`env[${i}] is a secret and must not have a default`)
  }
  const run = obj(m.run, 'run')
  int(run.uid, 'run.uid', 1, 65535)
  int(run.gid, 'run.gid', 1, 65535)
  const icon = obj(m.icon, 'icon')
  str(icon.background, 'icon.background', /^#[0-9a-f]{6}$/)
  str(icon.foreground, 'icon.foreground', /^#[0-9a-f]{6}$/)
  const syn = obj(m.synology, 'synology')
  str(syn.package, 'synology.package', /^[a-z][a-z0-9]+$/)
  const archs = list(syn.archs, 'synology.archs')
  if (archs.length === 0 || archs.some((a) => a !== 'x86_64' && a !== 'armv8')) fail('synology.archs must list x86_64 and/or armv8')
  str(syn.osMinVersion, 'synology.osMinVersion', /^7\.\d+-\d+$/)
  str(syn.nodePackage, 'synology.nodePackage', /^Node\.js_v\d+$/)
  str(syn.nodeAbi, 'synology.nodeAbi', /^\d+$/)
  const tn = obj(m.truenas, 'truenas')
  str(tn.train, 'truenas.train', /^(community|stable|enterprise)$/)
  str(tn.libVersion, 'truenas.libVersion', /^\d+\.\d+\.\d+$/)
  str(tn.libVersionHash, 'truenas.libVersionHash', /^[0-9a-f]{64}$/)
  str(tn.minScaleVersion, 'truenas.minScaleVersion', /^\d+\.\d+(\.\d+)*$/)
  const cu = obj(tn.containerUtils, 'truenas.containerUtils')
  str(cu.repository, 'truenas.containerUtils.repository')
  str(cu.tag, 'truenas.containerUtils.tag')
  str(tn.dateAdded, 'truenas.dateAdded', /^20\d\d-\d\d-\d\d$/)
  const ur = obj(m.unraid, 'unraid')
  str(ur.templateRepo, 'unraid.templateRepo', /^https:\/\//)
  str(ur.category, 'unraid.category')
  str(ur.appdata, 'unraid.appdata', /^\/mnt\/user\//)
  str(ur.sharesDefault, 'unraid.sharesDefault', /^\/mnt\//)
  str(ur.user, 'unraid.user', /^\d+:\d+$/)
  return m as unknown as Manifest
}

export function loadManifest(path = MANIFEST_PATH): Manifest {
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'))
  } catch (err) {
    throw new ManifestError(`plugin manifest: cannot read ${path}: ${(err as Error).message}`)
  }
  return validateManifest(raw)
}

export const portOf = (m: Manifest, id: 'web' | 'peer'): PortSpec => m.ports.find((p) => p.id === id) as PortSpec
/** Where the node keeps its data inside the container: the data volume, or its subdir. */
export const dataDirOf = (m: Manifest): string => {
  const v = volumeOf(m, 'data')
  return v.subdir ? `${v.path}/${v.subdir}` : v.path
}
export const volumeOf = (m: Manifest, id: 'data' | 'shares'): VolumeSpec => m.volumes.find((v) => v.id === id) as VolumeSpec
/** Synology's version format: feature-build. */
export const spkVersion = (m: Manifest): string => `${m.version}-${String(m.build).padStart(4, '0')}`
