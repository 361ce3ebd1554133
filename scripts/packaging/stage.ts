/**
 * Stages the production node_modules of the .spk payload for one CPU, offline except for npm's
 * registry: the runtime dependency closure from package-lock.json, with each add-on for the target
 * (sodium-native's own prebuild, @node-rs/argon2's platform package fetched with `npm pack` and
 * checked against the lockfile's integrity, better-sqlite3 cross-compiled with Debian's aarch64
 * toolchain against this Node's headers), then every ELF file checked for machine and glibc.
 */
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, openSync, readSync, closeSync, copyFileSync, renameSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { glibcAtMost, readElf } from './elf.js'
import { ROOT } from './manifest.js'

export type Cpu = 'x64' | 'arm64'
export const ELF_MACHINE: Record<Cpu, string> = { x64: 'x86_64', arm64: 'aarch64' }
/** DSM 7.2 and 7.3 ship glibc 2.36 (spksrc toolchains). */
export const GLIBC_LIMIT = '2.36'
/**
 * Dependencies the installed node never loads: it runs the compiled dist/ (not the sources through
 * tsx) and the compiled circuit in circuits/build (circomlib is the circuit's source library).
 */
const NOT_AT_RUNTIME = new Set(['tsx', 'circomlib'])

interface LockEntry {
  version?: string
  resolved?: string
  integrity?: string
  dev?: boolean
  optional?: boolean
  os?: string[]
  cpu?: string[]
  libc?: string[]
  dependencies?: Record<string, string>
  optionalDependencies?: Record<string, string>
}

export class StageError extends Error {}

const lock = (): Record<string, LockEntry> => JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')).packages

const fits = (e: LockEntry, cpu: Cpu) => (!e.os || e.os.includes('linux')) && (!e.cpu || e.cpu.includes(cpu)) && (!e.libc || e.libc.includes('glibc'))

/** Lockfile paths of the runtime closure for this CPU, resolved the way Node resolves them. */
export function runtimeClosure(cpu: Cpu): string[] {
  const packages = lock()
  const root = packages[''] as LockEntry
  const out = new Set<string>()
  const resolveFrom = (from: string, name: string): string | null => {
    for (let dir = from; ; ) {
      const candidate = `${dir ? `${dir}/` : ''}node_modules/${name}`
      if (packages[candidate]) return candidate
      if (!dir) return null
      const up = dir.lastIndexOf('/node_modules/')
      dir = up < 0 ? '' : dir.slice(0, up)
    }
  }
  const visit = (from: string, name: string, optional: boolean) => {
    const path = resolveFrom(from, name)
    if (!path) {
      if (optional) return
      throw new StageError(`package-lock.json has no entry for ${name} (needed by ${from || 'quloud'})`)
    }
    const entry = packages[path] as LockEntry
    if (!fits(entry, cpu) || out.has(path)) return
    out.add(path)
    for (const dep of Object.keys(entry.dependencies ?? {})) visit(path, dep, false)
    for (const dep of Object.keys(entry.optionalDependencies ?? {})) visit(path, dep, true)
  }
  for (const dep of Object.keys(root.dependencies ?? {})) if (!NOT_AT_RUNTIME.has(dep)) visit('', dep, false)
  return [...out].sort()
}

function sha512(path: string): string {
  return `sha512-${createHash('sha512').update(readFileSync(path)).digest('base64')}`
}

/** A package that is not installed here (another CPU's add-on): npm pack, integrity check, unpack. */
function fetchPackage(name: string, entry: LockEntry, cache: string): string {
  const dir = join(cache, 'packages', `${name.replace('/', '+')}@${entry.version}`)
  if (existsSync(join(dir, 'package.json'))) return dir
  mkdirSync(join(cache, 'tarballs'), { recursive: true })
  const file = execFileSync('npm', ['pack', `${name}@${entry.version}`, '--silent', '--pack-destination', join(cache, 'tarballs')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop() as string
  const tarball = join(cache, 'tarballs', file)
  if (!entry.integrity || sha512(tarball) !== entry.integrity) throw new StageError(`${name}@${entry.version}: the downloaded tarball does not match package-lock.json's integrity`)
  const tmp = `${dir}.tmp-${process.pid}`
  mkdirSync(tmp, { recursive: true })
  execFileSync('tar', ['-xzf', tarball, '-C', tmp, '--strip-components=1', '--no-same-owner'])
  renameSync(tmp, dir)
  return dir
}

/** A node-gyp project compiled for arm64 with Debian's cross compiler (g++-aarch64-linux-gnu), cached. */
function crossBuild(what: string, source: string, binary: string, cached: string): string {
  if (existsSync(cached)) return cached
  const work = mkdtempSync(join(tmpdir(), 'quloud-xbuild-'))
  try {
    cpSync(source, work, { recursive: true, filter: (src) => !src.includes('/build') })
    const gyp = join(process.execPath, '../../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js')
    const nodedir = join(process.execPath, '../..')
    const env = { ...process.env, CC: 'aarch64-linux-gnu-gcc', CXX: 'aarch64-linux-gnu-g++', LINK: 'aarch64-linux-gnu-g++', AR: 'aarch64-linux-gnu-ar' }
    try {
      execFileSync(process.execPath, [gyp, 'rebuild', '--release', '--arch=arm64', `--nodedir=${nodedir}`, '-j', '2'], { cwd: work, env, stdio: ['ignore', 'ignore', 'pipe'] })
    } catch (err) {
      throw new StageError(`cross-compiling ${what} for arm64 failed (is g++-aarch64-linux-gnu installed?): ${String((err as { stderr?: Buffer }).stderr ?? err).slice(-400)}`)
    }
    mkdirSync(dirname(cached), { recursive: true })
    copyFileSync(join(work, 'build/Release', binary), `${cached}.tmp`)
    renameSync(`${cached}.tmp`, cached)
    return cached
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

/** better-sqlite3 compiled for arm64. */
function crossBuildBetterSqlite(version: string, cache: string): string {
  return crossBuild('better-sqlite3', join(ROOT, 'node_modules/better-sqlite3'), 'better_sqlite3.node', join(cache, `better_sqlite3-${version}-abi${process.versions.modules}-arm64.node`))
}

/** Quloud's own native modules (scripts/build-native.mjs): folder under native/ and binary. */
const OWN_NATIVES = [
  { dir: 'bn254', binary: 'bn254_msm.node' },
  { dir: 'ingest', binary: 'quloud_ingest.node' },
]

/** A native module's sources, which key its cross-built binary in the cache: binding.gyp, every .c and .h. */
function nativeSources(source: string): string[] {
  return readdirSync(source).filter((f) => f === 'binding.gyp' || /\.[ch]$/.test(f)).sort()
}

/**
 * Quloud's native modules (the prover's BN254 code, the ingest loops) for `cpu`, each as
 * app/native/DIR/build/Release/BINARY: the x64 ones npm install built here, arm64 ones cross-built.
 */
export function stageOwnNatives(app: string, cpu: Cpu, cache = join(ROOT, 'build/cache')): void {
  for (const m of OWN_NATIVES) {
    const source = join(ROOT, 'native', m.dir)
    let binary = join(source, 'build/Release', m.binary)
    if (cpu === 'x64') {
      if (process.arch !== 'x64') throw new StageError(`the x64 payload must be staged on an x64 machine (native/${m.dir} is built here)`)
      if (!existsSync(binary)) throw new StageError(`native/${m.dir} is not built: run npm install`)
    } else {
      const digest = createHash('sha256')
      for (const f of nativeSources(source)) digest.update(f).update(readFileSync(join(source, f)))
      binary = crossBuild(`native/${m.dir}`, source, m.binary, join(cache, `${m.binary.replace(/\.node$/, '')}-${digest.digest('hex').slice(0, 16)}-arm64.node`))
    }
    const dest = join(app, 'native', m.dir, 'build/Release')
    mkdirSync(dest, { recursive: true })
    copyFileSync(binary, join(dest, m.binary))
  }
}

const PREBUILD_DIR: Record<Cpu, string> = { x64: 'linux-x64', arm64: 'linux-arm64' }

/** Copies one package, leaving out nested node_modules, other platforms' prebuilds and build leftovers. */
function copyPackage(from: string, to: string, name: string, cpu: Cpu): void {
  cpSync(from, to, {
    recursive: true,
    filter: (src) => {
      const rel = relative(from, src)
      if (rel === '') return true
      const parts = rel.split('/')
      if (parts[0] === 'node_modules') return false
      // Packages' own test suites and source maps are dead weight on a NAS (wasmcurves: 36 MB).
      if (parts[0] === 'test' || parts[0] === 'tests' || rel.endsWith('.map')) return false
      if (parts[0] === 'prebuilds' && parts.length > 1 && parts[1] !== PREBUILD_DIR[cpu]) return false
      if (name === 'better-sqlite3' && (parts[0] === 'deps' || parts[0] === 'src' || parts[0] === 'build')) return false
      return true
    },
  })
}

/** Writes node_modules for `cpu` into `dest` (which must not exist yet). */
export function stageNodeModules(dest: string, cpu: Cpu, cache = join(ROOT, 'build/cache')): void {
  const packages = lock()
  for (const path of runtimeClosure(cpu)) {
    const entry = packages[path] as LockEntry
    const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length)
    const local = join(ROOT, path)
    const source = existsSync(join(local, 'package.json')) ? local : fetchPackage(name, entry, cache)
    const target = join(dest, path)
    copyPackage(source, target, name, cpu)
    if (name === 'better-sqlite3') {
      const binary = cpu === 'x64' ? join(local, 'build/Release/better_sqlite3.node') : crossBuildBetterSqlite(entry.version as string, cache)
      if (cpu === 'x64' && process.arch !== 'x64') throw new StageError('the x64 payload must be staged on an x64 machine (better-sqlite3 is built here)')
      mkdirSync(join(target, 'build/Release'), { recursive: true })
      copyFileSync(binary, join(target, 'build/Release/better_sqlite3.node'))
    }
  }
}

function* walk(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    const st = statSync(path, { throwIfNoEntry: false })
    if (!st) continue
    if (st.isDirectory()) yield* walk(path)
    else if (st.isFile()) yield path
  }
}

function isElf(path: string): boolean {
  const fd = openSync(path, 'r')
  try {
    const head = Buffer.alloc(4)
    return readSync(fd, head, 0, 4, 0) === 4 && head.readUInt32BE(0) === 0x7f454c46
  } finally {
    closeSync(fd)
  }
}

export interface NativeReport {
  file: string
  machine: string
  maxGlibc: string | null
}

/** Every ELF file under dir (add-ons and any executable) for the wrong CPU or a too new glibc is an error. */
export function checkNatives(dir: string, cpu: Cpu, glibcLimit = GLIBC_LIMIT): NativeReport[] {
  const found: NativeReport[] = []
  const problems: string[] = []
  for (const file of walk(dir)) {
    if (!file.endsWith('.node') && !isElf(file)) continue
    const rel = relative(dir, file)
    try {
      const info = readElf(readFileSync(file), rel)
      found.push({ file: rel, machine: info.machine, maxGlibc: info.maxGlibc })
      if (info.machine !== ELF_MACHINE[cpu]) problems.push(`${rel} is built for ${info.machine}, not ${ELF_MACHINE[cpu]}`)
      if (!glibcAtMost(info.maxGlibc, glibcLimit)) problems.push(`${rel} needs GLIBC_${info.maxGlibc}, newer than ${glibcLimit}`)
    } catch (err) {
      problems.push(`${rel}: ${(err as Error).message}`)
    }
  }
  if (problems.length > 0) throw new StageError(`native add-ons not fit for ${ELF_MACHINE[cpu]}:\n  ${problems.join('\n  ')}`)
  return found
}
