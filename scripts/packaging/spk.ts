/**
 * Builds a Synology .spk for one CPU family with plain tar (the layout spksrc produces): the
 * payload package.tgz (the compiled app, its runtime node_modules for that CPU, the DSM menu
 * entry and port file), INFO with the payload's md5, conf/, scripts/, the wizard and icons.
 */
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT, spkVersion, type Manifest } from './manifest.js'
import { checkNatives, stageOwnNatives, stageNodeModules, type Cpu, type NativeReport } from './stage.js'

export type SpkArch = 'x86_64' | 'armv8'
export const CPU_OF: Record<SpkArch, Cpu> = { x86_64: 'x64', armv8: 'arm64' }

export interface SpkResult {
  file: string
  natives: NativeReport[]
}

const tar = (args: string[]) => execFileSync('tar', ['--owner=root', '--group=root', '--numeric-owner', '--sort=name', '--mtime=@0', ...args], { stdio: ['ignore', 'ignore', 'inherit'] })

/** The app as it runs on the NAS: compiled code, views, circuit, licence and a trimmed package.json. */
function stageApp(dir: string): void {
  if (!existsSync(join(ROOT, 'dist/cli/bin.js'))) throw new Error('dist/ is missing: run `npm run build` first')
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: pkg.name, version: pkg.version, description: pkg.description, license: pkg.license, type: pkg.type, engines: pkg.engines, dependencies: pkg.dependencies }, null, 2)}\n`)
  cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true, filter: (src) => !src.endsWith('.map') })
  cpSync(join(ROOT, 'ui'), join(dir, 'ui'), { recursive: true })
  cpSync(join(ROOT, 'circuits/build'), join(dir, 'circuits/build'), { recursive: true })
  cpSync(join(ROOT, 'LICENSE'), join(dir, 'LICENSE'))
}

export function buildSpk(m: Manifest, arch: SpkArch, outDir: string, opts: { cache?: string } = {}): SpkResult {
  const cpu = CPU_OF[arch]
  const syn = join(ROOT, 'packaging/synology')
  const work = mkdtempSync(join(tmpdir(), `quloud-spk-${arch}-`))
  try {
    const payload = join(work, 'payload')
    stageApp(join(payload, 'app'))
    stageNodeModules(join(payload, 'app'), cpu, opts.cache)
    stageOwnNatives(join(payload, 'app'), cpu, opts.cache)
    const natives = checkNatives(payload, cpu)
    cpSync(join(syn, 'app'), join(payload, 'app'), { recursive: true })
    cpSync(join(syn, 'ui'), join(payload, 'ui'), { recursive: true })
    const outer = join(work, 'spk')
    mkdirSync(outer)
    tar(['-C', payload, '-czf', join(outer, 'package.tgz'), '.'])
    const md5 = createHash('md5').update(readFileSync(join(outer, 'package.tgz'))).digest('hex')
    const info = readFileSync(join(syn, 'INFO.in'), 'utf8').replace('@ARCH@', arch)
    writeFileSync(join(outer, 'INFO'), `${info}checksum="${md5}"\n`)
    for (const part of ['conf', 'scripts', 'WIZARD_UIFILES', 'PACKAGE_ICON.PNG', 'PACKAGE_ICON_256.PNG']) cpSync(join(syn, part), join(outer, part), { recursive: true })
    cpSync(join(ROOT, 'LICENSE'), join(outer, 'LICENSE'))
    mkdirSync(outDir, { recursive: true })
    const file = join(outDir, `${m.synology.package}_${arch}_${spkVersion(m)}.spk`)
    // An .spk is an uncompressed tar (Synology Developer Guide; spksrc mk/spksrc.spk.mk).
    tar(['-C', outer, '-cf', `${file}.tmp`, 'INFO', 'package.tgz', 'scripts', 'conf', 'WIZARD_UIFILES', 'PACKAGE_ICON.PNG', 'PACKAGE_ICON_256.PNG', 'LICENSE'])
    renameSync(`${file}.tmp`, file)
    return { file, natives }
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}
