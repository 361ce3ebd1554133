import test from 'ava'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { loadManifest } from '../../scripts/packaging/manifest.js'
import { ensureBuilt, freePort, ROOT, waitForHttp } from '../helpers/build.js'
import { tempDir } from '../helpers/index.js'

const ENTRY = join(ROOT, 'packaging/container/entrypoint.sh')
const HEALTH = join(ROOT, 'packaging/container/healthcheck.mjs')

test.before(async () => {
  await ensureBuilt()
})

/** Environment of a container: nothing from the test runner except PATH. */
const containerEnv = (extra: Record<string, string>) => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', QULOUD_APP_DIR: ROOT, QULOUD_SSDP: 'false', ...extra })

/** The exit code once the process has ended and its output has been read to the end ('close', not 'exit'). */
function stopped(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null && child.stdout?.readableEnded !== false) resolve(child.exitCode)
    else child.once('close', (code) => resolve(code))
  })
}

test('the entrypoint runs the compiled node on the port Unraid passes as TCP_PORT_<n>, and stops on SIGTERM', async (t) => {
  const m = loadManifest()
  const data = await tempDir(t)
  const web = await freePort()
  const peer = await freePort()
  // Host mode binds every interface; the test only ever talks to 127.0.0.1.
  const child = spawn('sh', [ENTRY, 'start'], { env: containerEnv({ [`TCP_PORT_${m.ports[0]?.port}`]: String(web), [`TCP_PORT_${m.ports[1]?.port}`]: String(peer), QULOUD_DATA_DIR: data }), stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => child.kill('SIGKILL'))
  let out = ''
  child.stdout?.on('data', (d) => (out += d))
  t.is(await waitForHttp(web, m.healthPath), 200)
  // The web port answers a moment before the node prints what it serves.
  for (let i = 0; i < 100 && !/Press Ctrl-C/.test(out); i++) await new Promise((r) => setTimeout(r, 100))
  t.regex(out, new RegExp(`0\\.0\\.0\\.0:${web}`))
  t.true(existsSync(join(data, 'identity.json')), 'the node keeps its identity in the data folder it was given')
  // The health check script finds the same port from the same variables.
  const health = spawnSync(process.execPath, [HEALTH], { env: containerEnv({ [`TCP_PORT_${m.ports[0]?.port}`]: String(web) }) })
  t.is(health.status, 0)
  child.kill('SIGTERM') // exec'd: the signal reaches node itself
  t.is(await stopped(child), 0)
  t.regex(out, /Quloud stopped\./)
})

test('an explicit QULOUD_WEB_LISTEN wins over TCP_PORT_<n>', async (t) => {
  const m = loadManifest()
  const data = await tempDir(t)
  const web = await freePort()
  const ignored = await freePort()
  const child = spawn('sh', [ENTRY, 'start'], { env: containerEnv({ [`TCP_PORT_${m.ports[0]?.port}`]: String(ignored), QULOUD_WEB_LISTEN: `127.0.0.1:${web}`, QULOUD_PEER_LISTEN: '127.0.0.1:0', QULOUD_DATA_DIR: data }), stdio: 'ignore' })
  t.teardown(() => child.kill('SIGKILL'))
  t.is(await waitForHttp(web, m.healthPath), 200)
  const health = spawnSync(process.execPath, [HEALTH], { env: containerEnv({ QULOUD_WEB_LISTEN: `127.0.0.1:${web}` }) })
  t.is(health.status, 0)
  child.kill('SIGTERM')
  t.is(await stopped(child), 0)
})

test('the health check fails when nothing answers', async (t) => {
  const port = await freePort()
  const health = spawnSync(process.execPath, [HEALTH], { env: containerEnv({ QULOUD_WEB_LISTEN: `127.0.0.1:${port}` }), timeout: 10_000 })
  t.is(health.status, 1)
})

test('the Dockerfile: glibc Node 22, build tools in the build stage, non-root, health check, data volume, every COPY source present', (t) => {
  const m = loadManifest()
  const df = readFileSync(join(ROOT, 'packaging/container/Dockerfile'), 'utf8')
  const froms = [...df.matchAll(/^FROM (\S+)/gm)].map((x) => x[1])
  t.deepEqual(froms, ['node:22-bookworm-slim', 'node:22-bookworm-slim'], 'Debian (glibc) images: sodium-native has no musl build')
  t.regex(df, /apt-get install -y --no-install-recommends python3 make g\+\+/)
  const user = /^USER (\d+):(\d+)$/m.exec(df)
  t.truthy(user)
  t.not(user?.[1], '0')
  t.regex(df, /HEALTHCHECK [\s\S]*healthcheck\.mjs/)
  t.regex(df, new RegExp(`^VOLUME \\["${m.volumes[0]?.path}"\\]`, 'm'))
  t.regex(df, new RegExp(`^EXPOSE ${m.ports[0]?.port}/tcp ${m.ports[1]?.port}/tcp ${m.ssdp.port}/udp$`, 'm'))
  t.regex(df, /install -d -m 1777 \/data/, 'any uid (568, 99) can use an unmounted data folder')
  t.regex(df, /ENV .*QULOUD_DATA_DIR=\/data\/node/, 'the node keeps its files in a folder it owns')
  const ignore = readFileSync(join(ROOT, 'packaging/container/Dockerfile.dockerignore'), 'utf8').split('\n').filter((l) => l.startsWith('!')).map((l) => l.slice(1))
  for (const [, sources] of df.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
    for (const src of (sources as string).split(' ')) {
      t.true(existsSync(join(ROOT, src)), `COPY source ${src} exists`)
      t.true(ignore.some((p) => p === src || p.startsWith(`${src}/`) || (p.endsWith('/**') && src.startsWith(p.slice(0, -3)))), `COPY source ${src} is let through by Dockerfile.dockerignore`)
    }
  }
})

test('the entrypoint and the start script are clean POSIX sh', (t) => {
  for (const f of [ENTRY, join(ROOT, 'packaging/synology/scripts/start-stop-status'), join(ROOT, 'packaging/synology/scripts/postinst')]) {
    const r = spawnSync('sh', ['-n', f])
    t.is(r.status, 0, `${f}: ${r.stderr}`)
    const dash = spawnSync('dash', ['-n', f])
    if (dash.error === undefined) t.is(dash.status, 0, `${f} under dash`)
  }
})

for (const [uid, gid, nas] of [[568, 568, 'TrueNAS'], [99, 100, 'Unraid']] as const) {
  test(`the node runs as ${uid}:${gid} (${nas}) with a data folder like the image's`, async (t) => {
    if (process.getuid?.() !== 0) return t.pass('needs root to switch users; CI runs as root')
    const m = loadManifest()
    // The image's /data: world-writable and sticky (install -d -m 1777), as when no volume is mounted.
    const base = await tempDir(t)
    chmodSync(base, 0o755)
    const data = join(base, 'data')
    mkdirSync(data, { mode: 0o1777 })
    chmodSync(data, 0o1777)
    const web = await freePort()
    // The image points QULOUD_DATA_DIR at a folder inside the mount point, which the node creates.
    const nodeDir = join(data, m.volumes[0]?.subdir ?? '')
    const child = spawn('sh', [ENTRY, 'start'], { uid, gid, env: containerEnv({ QULOUD_WEB_LISTEN: `127.0.0.1:${web}`, QULOUD_PEER_LISTEN: '127.0.0.1:0', QULOUD_DATA_DIR: nodeDir, HOME: data }), stdio: 'ignore' })
    t.teardown(() => child.kill('SIGKILL'))
    t.is(await waitForHttp(web, m.healthPath), 200)
    t.is(statSync(nodeDir).mode & 0o777, 0o700)
    t.is(statSync(nodeDir).uid, uid)
    const st = statSync(join(nodeDir, 'identity.json'))
    t.is(st.uid, uid)
    t.is(st.mode & 0o777, 0o600)
    child.kill('SIGTERM')
    t.is(await stopped(child), 0)
  })
}
