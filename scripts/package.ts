/**
 * npm run package — renders every file under packaging/ from plugin/quloud.plugin.json, then
 * builds the Synology .spk files into build/packages/ and checks them.
 *   --check        only report packaging files that drifted from the manifest (exit 1 if any)
 *   --no-spk       render only
 *   --arch A       build only this .spk (x86_64 or armv8)
 */
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { loadManifest, ROOT } from './packaging/manifest.js'
import { drifted, renderAll, writeAll } from './packaging/render.js'
import { buildSpk, type SpkArch } from './packaging/spk.js'
import { checkSpk } from './packaging/check-spk.js'

const args = process.argv.slice(2)
const manifest = loadManifest()
const files = renderAll(manifest)
if (args.includes('--check')) {
  const stale = drifted(files)
  for (const s of stale) console.error(`drifted: ${s}`)
  console.log(stale.length === 0 ? `packaging: ${files.size} files match the manifest` : `packaging: ${stale.length} files drifted; run npm run package`)
  process.exit(stale.length === 0 ? 0 : 1)
}
writeAll(files)
console.log(`packaging: rendered ${files.size} files from plugin/quloud.plugin.json`)
if (!args.includes('--no-spk')) {
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' })
  const archAt = args.indexOf('--arch')
  const archs = archAt >= 0 ? [args[archAt + 1] as SpkArch] : manifest.synology.archs
  for (const arch of archs) {
    const { file, natives } = buildSpk(manifest, arch, join(ROOT, 'build/packages'))
    const problems = checkSpk(file)
    if (problems.errors.length > 0) throw new Error(`${file} failed its checks:\n  ${problems.errors.join('\n  ')}`)
    console.log(`packaging: ${file.slice(ROOT.length)} (${natives.map((n) => `${n.file.split('/').pop()} ${n.machine} glibc ${n.maxGlibc ?? '-'}`).join(', ')})`)
  }
}
