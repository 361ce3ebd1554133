/**
 * Offline structural check of a DSM 7 .spk, after the Synology Developer Guide (package
 * structure, INFO necessary and optional fields, privilege, resource/port-config, desktop app
 * config) as summarised in research/nas-packaging.md §3 and §5.3.
 */
import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import { createHash } from 'node:crypto'
import { readTar, type TarEntry } from './tar-reader.js'
import { SPK_SCRIPTS } from './render-synology.js'

/** Appendix "Platform and Arch Value Mapping Table": families and platforms DSM accepts in INFO arch. */
const ARCH_VALUES = new Set(['noarch', 'x86_64', 'i686', 'armv7', 'armv5', 'armv8', 'alpine', 'alpine4k', 'apollolake', 'armada370', 'armada375', 'armada37xx', 'armada38x', 'armadaxp', 'avoton', 'braswell', 'broadwell', 'broadwellnk', 'broadwellntb', 'broadwellntbap', 'bromolow', 'cedarview', 'coffeelake', 'comcerto2k', 'denverton', 'evansport', 'geminilake', 'grantley', 'kvmx64', 'monaco', 'purley', 'rtd1296', 'rtd1619', 'rtd1619b', 'skylaked', 'v1000'])
const REQUIRED_INFO = ['package', 'version', 'os_min_ver', 'description', 'arch', 'maintainer']
const DEPRECATED_INFO = ['firmware', 'startable', 'support_conf_folder', 'thirdparty']

export interface SpkCheck {
  errors: string[]
  warnings: string[]
  info: Record<string, string>
  payload: Map<string, TarEntry>
}

export const parseInfo = (text: string): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    const m = /^([A-Za-z0-9_]+)="(.*)"$/.exec(line)
    if (!m) throw new Error(`INFO: malformed line: ${line}`)
    out[m[1] as string] = m[2] as string
  }
  return out
}

export function parseSc(text: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {}
  let section: Record<string, string> | null = null
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim()
    if (!line || line.startsWith('#') || line.startsWith(';')) continue
    const sec = /^\[([A-Za-z0-9_.\\-]+)\]$/.exec(line)
    if (sec) {
      section = out[sec[1] as string] = {}
      continue
    }
    const kv = /^([\w.]+)="([^"]*)"$/.exec(line)
    if (!kv || !section) throw new Error(`bad port file line: ${line}`)
    section[kv[1] as string] = kv[2] as string
  }
  return out
}

const pngSize = (b: Buffer): [number, number] | null => (b.length > 24 && b.toString('latin1', 1, 4) === 'PNG' ? [b.readUInt32BE(16), b.readUInt32BE(20)] : null)

const versionAtLeast = (v: string, min: number[]) => {
  const parts = v.split(/[.-]/).map(Number)
  for (let i = 0; i < min.length; i++) if ((parts[i] ?? 0) !== min[i]) return (parts[i] ?? 0) > (min[i] as number)
  return true
}

export function checkSpk(file: string): SpkCheck {
  const errors: string[] = []
  const warnings: string[] = []
  const spk = readTar(readFileSync(file))
  const need = (name: string) => {
    const e = spk.get(name)
    if (!e) errors.push(`missing ${name}`)
    return e
  }
  const infoEntry = need('INFO')
  const tgz = need('package.tgz')
  need('conf/privilege')
  for (const s of SPK_SCRIPTS) {
    const e = need(`scripts/${s}`)
    if (e && (e.mode & 0o111) === 0) errors.push(`scripts/${s} is not executable`)
    if (e && !e.data.toString('utf8').startsWith('#!/bin/sh')) errors.push(`scripts/${s} must be a /bin/sh script`)
  }
  for (const [name, px] of [['PACKAGE_ICON.PNG', 64], ['PACKAGE_ICON_256.PNG', 256]] as const) {
    const e = need(name)
    const size = e && pngSize(e.data)
    if (e && (!size || size[0] !== px || size[1] !== px)) errors.push(`${name} must be a ${px}x${px} PNG`)
  }
  let info: Record<string, string> = {}
  if (infoEntry) {
    try {
      info = parseInfo(infoEntry.data.toString('utf8'))
    } catch (err) {
      errors.push((err as Error).message)
    }
    for (const k of REQUIRED_INFO) if (!info[k]) errors.push(`INFO: missing ${k}`)
    if (/[:/><|=]/.test(info.package ?? '')) errors.push('INFO: package must not contain : / > < | =')
    if (info.version && !/^\d+(?:[._-]\d+)*-\d+$/.test(info.version)) errors.push(`INFO: version ${info.version} is not [feature]-[build]`)
    if (info.os_min_ver && (!/^\d+\.\d+-\d+$/.test(info.os_min_ver) || !versionAtLeast(info.os_min_ver, [7, 2]))) errors.push(`INFO: os_min_ver ${info.os_min_ver} must be at least 7.2 (glibc 2.36)`)
    for (const a of (info.arch ?? '').split(/\s+/).filter(Boolean)) if (!ARCH_VALUES.has(a)) errors.push(`INFO: unknown arch ${a}`)
    for (const k of DEPRECATED_INFO) if (k in info) warnings.push(`INFO: ${k} is deprecated on DSM 7`)
    if (!info.checksum) errors.push('INFO: missing checksum')
    else if (tgz && info.checksum !== createHash('md5').update(tgz.data).digest('hex')) errors.push('INFO: checksum is not the md5 of package.tgz')
    if (info.adminport && !/^\d+$/.test(info.adminport)) errors.push('INFO: adminport must be a number')
  }
  for (const [name, e] of spk) {
    if (e.type !== '0') continue
    if (name === 'conf/privilege' || name === 'conf/resource' || (name.startsWith('WIZARD_UIFILES/') && !name.endsWith('.sh'))) {
      try {
        JSON.parse(e.data.toString('utf8'))
      } catch (err) {
        errors.push(`${name}: invalid JSON (${(err as Error).message})`)
      }
    }
  }
  try {
    const privilege = JSON.parse(spk.get('conf/privilege')?.data.toString('utf8') ?? '{}')
    if (privilege?.defaults?.['run-as'] !== 'package') errors.push('conf/privilege: defaults.run-as must be "package" on DSM 7')
  } catch {
    // reported above
  }
  let payload = new Map<string, TarEntry>()
  if (tgz) {
    try {
      payload = readTar(gunzipSync(tgz.data))
    } catch (err) {
      errors.push(`package.tgz is not a gzip tar: ${(err as Error).message}`)
    }
  }
  let resource: Record<string, any> = {}
  try {
    resource = JSON.parse(spk.get('conf/resource')?.data.toString('utf8') ?? '{}')
  } catch {
    // reported above
  }
  const scPath = resource['port-config']?.['protocol-file']
  if (typeof scPath !== 'string') warnings.push('no port-config: Package Review expects every port registered')
  else {
    const sc = payload.get(scPath)
    if (!sc) errors.push(`conf/resource port-config file ${scPath} is not in package.tgz`)
    else {
      try {
        for (const [section, kv] of Object.entries(parseSc(sc.data.toString('utf8')))) {
          for (const k of ['title', 'desc', 'dst.ports']) if (!kv[k]) errors.push(`${scPath} [${section}]: missing ${k}`)
          if (kv['dst.ports'] && !/^\d+(:\d+)?(,\d+(:\d+)?)*(\/(tcp|udp)(,(tcp|udp))?)?$/.test(kv['dst.ports'])) errors.push(`${scPath} [${section}]: bad dst.ports ${kv['dst.ports']}`)
        }
      } catch (err) {
        errors.push(`${scPath}: ${(err as Error).message}`)
      }
    }
  }
  if (info.dsmuidir) {
    const cfgName = `${info.dsmuidir}/config`
    const cfg = payload.get(cfgName)
    if (!cfg) errors.push(`${cfgName} is not in package.tgz`)
    else {
      try {
        const c = JSON.parse(cfg.data.toString('utf8'))
        const urls: Record<string, any> = c['.url'] ?? {}
        for (const app of (info.dsmappname ?? '').split(/\s+/).filter(Boolean)) if (!urls[app]) errors.push(`dsmappname ${app} is not a key of ${cfgName} ".url"`)
        for (const [id, app] of Object.entries(urls)) {
          for (const k of ['type', 'title', 'icon']) if (!app[k]) errors.push(`${cfgName} ${id}: missing ${k}`)
          if (typeof app.icon === 'string' && app.icon.includes('{0}')) {
            for (const px of [16, 24, 32, 48, 64, 72, 256]) {
              const icon = payload.get(`${info.dsmuidir}/${app.icon.replace('{0}', String(px))}`)
              const size = icon && pngSize(icon.data)
              if (!size || size[0] !== px) errors.push(`${cfgName} ${id}: no ${px}x${px} icon`)
            }
          }
          if (app.port && info.adminport && app.port !== info.adminport) errors.push(`${cfgName} ${id}: port ${app.port} differs from INFO adminport ${info.adminport}`)
        }
      } catch (err) {
        errors.push(`${cfgName}: invalid JSON (${(err as Error).message})`)
      }
    }
  }
  return { errors, warnings, info, payload }
}
