import { execFileSync, spawnSync } from 'node:child_process'

/** restic's version, installing Debian's restic first when it is missing (CI runs as root). */
export function ensureRestic(log: (msg: string) => void): string {
  const found = spawnSync('restic', ['version'], { encoding: 'utf8' })
  if (found.status === 0) return found.stdout.trim()
  log('restic is missing: installing Debian\'s restic')
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' })
  execFileSync('apt-get', ['install', '-y', '-qq', 'restic'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
  return execFileSync('restic', ['version'], { encoding: 'utf8' }).trim()
}
