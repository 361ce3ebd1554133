import test from 'ava'
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadManifest } from '../../scripts/packaging/manifest.js'
import { buildSpk, type SpkArch } from '../../scripts/packaging/spk.js'
import { checkSpk } from '../../scripts/packaging/check-spk.js'
import { checkNatives, StageError } from '../../scripts/packaging/stage.js'
import { readElf } from '../../scripts/packaging/elf.js'
import { ensureBuilt, freePort, waitForHttp } from '../helpers/build.js'
import { tempDir } from '../helpers/index.js'

const m = loadManifest()
const built = new Map<SpkArch, Promise<string>>()
let outDir: Promise<string> | null = null

test.before(async () => {
  await ensureBuilt()
})

/** Each .spk is built once per test process, into a folder removed at the end. */
function spk(t: Parameters<typeof tempDir>[0], arch: SpkArch): Promise<string> {
  outDir ??= tempDir(t)
  if (!built.has(arch)) built.set(arch, outDir.then((dir) => buildSpk(m, arch, dir).file))
  return built.get(arch) as Promise<string>
}

async function unpack(t: Parameters<typeof tempDir>[0], file: string): Promise<{ root: string; target: string }> {
  const root = await tempDir(t)
  execFileSync('tar', ['-xf', file, '-C', root])
  const target = join(root, 'target')
  mkdirSync(target)
  execFileSync('tar', ['-xzf', join(root, 'package.tgz'), '-C', target])
  return { root, target }
}

for (const arch of ['x86_64', 'armv8'] as const) {
  test(`the ${arch} .spk passes the structural checks and carries only ${arch} add-ons`, async (t) => {
    const file = await spk(t, arch)
    t.regex(file, new RegExp(`quloud_${arch}_${m.version}-0001\\.spk$`))
    const { errors, warnings, info, payload } = checkSpk(file)
    t.deepEqual(errors, [])
    t.deepEqual(warnings, [])
    t.is(info.arch, arch)
    t.is(info.os_min_ver, '7.2-63134')
    t.is(info.install_dep_packages, 'Node.js_v20')
    for (const f of ['app/dist/cli/bin.js', 'app/package.json', 'app/circuits/build/ownership.wasm', 'app/ui/views/status.ejs', 'app/quloud.sc', 'ui/config', 'ui/images/icon_256.png']) t.true(payload.has(f), `${f} in package.tgz`)
    const machine = arch === 'x86_64' ? 'x86_64' : 'aarch64'
    const natives = [...payload].filter(([, e]) => e.type === '0' && e.data.length > 4 && e.data.readUInt32BE(0) === 0x7f454c46)
    const names = natives.map(([n]) => n)
    for (const needed of ['better_sqlite3.node', 'sodium-native.node', 'native/bn254/build/Release/bn254_msm.node', 'native/ingest/build/Release/quloud_ingest.node', arch === 'x86_64' ? 'argon2.linux-x64-gnu.node' : 'argon2.linux-arm64-gnu.node']) t.true(names.some((n) => n.endsWith(needed)), `${needed} is staged`)
    for (const [name, e] of natives) {
      const elf = readElf(e.data, name)
      t.is(elf.machine, machine, name)
      t.true(elf.maxGlibc === null || Number((elf.maxGlibc.split('.')[1] ?? '0')) <= 36, `${name} needs GLIBC_${elf.maxGlibc}, DSM 7.2 has 2.36`)
    }
    t.false(names.some((n) => n.includes('node_modules/tsx') || n.includes('esbuild')), 'the payload runs dist/, not tsx')
  })
}

test('a payload for one CPU is refused when checked as the other', async (t) => {
  const { target } = await unpack(t, await spk(t, 'x86_64'))
  t.true(checkNatives(target, 'x64').length >= 3)
  const err = t.throws(() => checkNatives(target, 'arm64'), { instanceOf: StageError })
  t.regex(err?.message ?? '', /better_sqlite3\.node is built for x86_64, not aarch64/)
  t.throws(() => checkNatives(target, 'x64', '2.17'), { instanceOf: StageError, message: /needs GLIBC_2\.3\d, newer than 2\.17/ })
})

test('the structural check catches what the Package Center would refuse', async (t) => {
  const { root } = await unpack(t, await spk(t, 'x86_64'))
  chmodSync(join(root, 'scripts/start-stop-status'), 0o644)
  writeFileSync(join(root, 'conf/privilege'), JSON.stringify({ defaults: { 'run-as': 'root' } }))
  writeFileSync(join(root, 'PACKAGE_ICON.PNG'), readFileSync(join(root, 'PACKAGE_ICON_256.PNG')))
  const info = readFileSync(join(root, 'INFO'), 'utf8').replace('arch="x86_64"', 'arch="aarch64"').replace('os_min_ver="7.2-63134"', 'os_min_ver="7.0-40000"')
  writeFileSync(join(root, 'INFO'), info)
  writeFileSync(join(root, 'package.tgz'), Buffer.concat([readFileSync(join(root, 'package.tgz')), Buffer.from([0])]))
  const bad = join(root, 'bad.spk')
  execFileSync('tar', ['-C', root, '-cf', bad, 'INFO', 'package.tgz', 'scripts', 'conf', 'WIZARD_UIFILES', 'PACKAGE_ICON.PNG', 'PACKAGE_ICON_256.PNG'])
  const { errors } = checkSpk(bad)
  for (const re of [/scripts\/start-stop-status is not executable/, /run-as must be "package"/, /PACKAGE_ICON\.PNG must be a 64x64 PNG/, /unknown arch aarch64/, /os_min_ver 7\.0-40000 must be at least 7\.2/, /checksum is not the md5/]) t.true(errors.some((e) => re.test(e)), `${re} in ${errors.join('; ')}`)
})

/** DSM's calls, simulated: the SYNOPKG_* variables, the package user's view, the real node. */
async function dsm(t: Parameters<typeof tempDir>[0]) {
  const { root, target } = await unpack(t, await spk(t, 'x86_64'))
  const pkgVar = join(root, 'var')
  mkdirSync(pkgVar)
  const web = await freePort()
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    SYNOPKG_PKGNAME: 'quloud',
    SYNOPKG_PKGVER: '0.1.0-0001',
    SYNOPKG_PKGDEST: target,
    SYNOPKG_PKGVAR: pkgVar,
    SYNOPKG_TEMP_LOGFILE: join(root, 'message'),
    SYNOPKG_PKG_STATUS: 'INSTALL',
    SPK_TEST_NODE: process.execPath,
    // The package binds every interface on a NAS; the test keeps the node on loopback.
    QULOUD_WEB_LISTEN: `127.0.0.1:${web}`,
    QULOUD_PEER_LISTEN: '127.0.0.1:0',
    QULOUD_SSDP: 'false',
  }
  const run = (script: string, ...args: string[]) => spawnSync('sh', [join(root, 'scripts', script), ...args], { env, encoding: 'utf8', timeout: 60_000 }).status
  t.teardown(() => {
    run('start-stop-status', 'stop')
  })
  return { root, target, pkgVar, web, env, run }
}

test('lifecycle: preinst, postinst, start, status, stop, status drive the real node', async (t) => {
  const { pkgVar, web, run } = await dsm(t)
  t.is(run('preinst'), 0)
  t.is(run('postinst'), 0)
  t.is(statSync(join(pkgVar, 'data')).mode & 0o777, 0o700)
  t.is(run('start-stop-status', 'status'), 3, 'not running before start')
  t.is(run('start-stop-status', 'start'), 0)
  t.is(await waitForHttp(web, m.healthPath), 200)
  t.is(run('start-stop-status', 'status'), 0)
  const pid = Number(readFileSync(join(pkgVar, 'quloud.pid'), 'utf8'))
  t.is(run('start-stop-status', 'start'), 0, 'starting twice is harmless')
  t.is(Number(readFileSync(join(pkgVar, 'quloud.pid'), 'utf8')), pid)
  t.true(existsSync(join(pkgVar, 'data/identity.json')), 'the node keeps its data in var/, which survives upgrades')
  t.is(run('start-stop-status', 'stop'), 0)
  t.is(run('start-stop-status', 'status'), 3)
  t.throws(() => process.kill(pid, 0), undefined, 'the node process is gone')
  t.regex(readFileSync(join(pkgVar, 'quloud.log'), 'utf8'), /Received SIGTERM: stopping…\nQuloud stopped\./)
  for (const s of ['preupgrade', 'postupgrade', 'preuninst', 'postuninst']) t.is(run(s), 0)
})

test('lifecycle: a node that died leaves status 1, and start brings it back', async (t) => {
  const { web, pkgVar, run } = await dsm(t)
  t.is(run('postinst'), 0)
  t.is(run('start-stop-status', 'start'), 0)
  t.is(await waitForHttp(web, m.healthPath), 200)
  const pid = Number(readFileSync(join(pkgVar, 'quloud.pid'), 'utf8'))
  process.kill(pid, 'SIGKILL')
  for (let i = 0; i < 50 && run('start-stop-status', 'status') === 0; i++) await new Promise((r) => setTimeout(r, 100))
  t.is(run('start-stop-status', 'status'), 1, 'dead with a pid file')
  t.is(run('start-stop-status', 'start'), 0)
  t.is(await waitForHttp(web, m.healthPath), 200)
  t.is(run('start-stop-status', 'status'), 0)
})

test('lifecycle: start refuses a node of another ABI, or none, with a message for the Package Center', async (t) => {
  const { root, env, run } = await dsm(t)
  const fake = join(root, 'node22')
  // Stands in for Synology's Node.js v22 package: a node reporting another module ABI.
  writeFileSync(fake, '#!/bin/sh\necho 127\n')
  chmodSync(fake, 0o755)
  env.SPK_TEST_NODE = fake
  t.is(run('start-stop-status', 'start'), 1)
  t.regex(readFileSync(join(root, 'message'), 'utf8'), /built for Node\.js ABI 115 \(Node\.js_v20\), not 127/)
  env.SPK_TEST_NODE = join(root, 'no-such-node')
  t.is(run('start-stop-status', 'start'), 1)
  t.regex(readFileSync(join(root, 'message'), 'utf8'), /needs Synology's Node\.js_v20 package/)
  t.is(run('start-stop-status', 'status'), 3)
})
