import test from 'ava'
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse, stringify } from 'yaml'
import { Ajv } from 'ajv'
import { checkTruenasApp, RESTRICTED_HOST_PATHS } from '../../scripts/packaging/check-truenas.js'
import { loadManifest } from '../../scripts/packaging/manifest.js'
import { ROOT } from '../helpers/build.js'
import { tempDir } from '../helpers/index.js'

const APP = join(ROOT, 'packaging/truenas/quloud')
const template = () => readFileSync(join(APP, 'templates/docker-compose.yaml'), 'utf8')

test('the catalog app passes the transcribed apps_validation rules', (t) => {
  const { errors, app } = checkTruenasApp(APP)
  t.deepEqual(errors, [])
  t.is(app.train, 'community')
  t.is(app.lib_version, '2.3.11')
  t.deepEqual(app.run_as_context.map((c: any) => [c.uid, c.gid]), [[568, 568]], 'runs as the apps user, as generate_metadata.py would record')
  t.deepEqual(app.capabilities, [], 'no extra capabilities: the library drops them all')
})

test('the validator catches the mistakes upstream CI refuses', async (t) => {
  const dir = join(await tempDir(t), 'quloud')
  cpSync(APP, dir, { recursive: true })
  const q = parse(readFileSync(join(dir, 'questions.yaml'), 'utf8'))
  q.questions[0].group = 'Undeclared Group'
  const network = q.questions.find((x: any) => x.variable === 'network')
  network.schema.attrs[0].schema.attrs[0].schema.default = 'bridged'
  network.schema.attrs[0].schema.attrs[1].schema.type = 'port'
  writeFileSync(join(dir, 'questions.yaml'), stringify(q))
  const values = parse(readFileSync(join(dir, 'ix_values.yaml'), 'utf8'))
  delete values.images.container_utils_image
  values.images.helper = { repository: 'x', tag: '1' }
  writeFileSync(join(dir, 'ix_values.yaml'), stringify(values))
  const app = parse(readFileSync(join(dir, 'app.yaml'), 'utf8'))
  delete app.maintainers
  app.version = '1.0'
  writeFileSync(join(dir, 'app.yaml'), stringify(app))
  rmSync(join(dir, 'README.md'))
  const { errors } = checkTruenasApp(dir)
  const expect = [/group "Undeclared Group" is not declared/, /default "bridged" is not one of the enum values/, /schema.type port is not allowed/, /container_utils_image/, /image key helper must end in "image"/, /must have required property 'maintainers'/, /app.yaml\/version: must match pattern/, /missing README.md/]
  for (const re of expect) t.true(errors.some((e) => re.test(e)), `expected an error matching ${re}; got:\n${errors.join('\n')}`)
})

/** Every values.a.b path the template reads, checked against each test file merged with ix_values.yaml. */
test('the compose template only reads values that every test file and ix_values define', (t) => {
  const { values, testValues } = checkTruenasApp(APP)
  const paths = [...new Set([...template().matchAll(/values\.([a-z_]+(?:\.[a-z_]+)*)/g)].map((m) => m[1] as string))]
  t.true(paths.length > 10)
  t.is(Object.keys(testValues).length, 2)
  for (const [file, tv] of Object.entries(testValues)) {
    const merged = { ...tv, ...values }
    for (const path of paths) {
      const found = path.split('.').reduce<any>((v, k) => (v === undefined || v === null ? undefined : v[k]), merged)
      t.not(found, undefined, `${file}: values.${path} is not defined`)
    }
  }
})

test('the template has a health check, a portal, read-only shares and no ports in host mode', (t) => {
  const m = loadManifest()
  const tpl = template()
  t.regex(tpl, new RegExp(`healthcheck\\.set_test\\("node", \\{"port": values\\.network\\.web_port\\.port_number, "path": "${m.healthPath}"\\}\\)`))
  t.regex(tpl, /tpl\.portals\.add\(values\.network\.web_port\)/)
  t.regex(tpl, /c1\.add_storage\(values\.consts\.data_path, values\.storage\.data\)/)
  t.regex(tpl, /\{% for share in values\.storage\.shares %\}\s*\{% do share\.update\(\{"read_only": true\}\) %\}\s*\{% do c1\.add_storage\(share\.mount_path, share\) %\}/)
  const hostBlock = /\{% if not values\.network\.host_network %\}([\s\S]*?)\{% endif %\}/.exec(tpl)?.[1] ?? ''
  const addPorts = tpl.match(/add_port\(/g) ?? []
  t.is(addPorts.length, 2)
  t.is((hostBlock.match(/add_port\(/g) ?? []).length, 2, 'ports are published only without host networking')
  t.regex(tpl, /"QULOUD_SSDP", "true" if values\.network\.host_network else "false"/)
})

test('defaults: host networking on, ports from the manifest in the free 30000-40000 range, shares read-only outside restricted paths', (t) => {
  const m = loadManifest()
  const { questions, testValues } = checkTruenasApp(APP)
  const network = questions.questions.find((q: any) => q.variable === 'network').schema.attrs
  const port = (v: string) => network.find((a: any) => a.variable === v).schema.attrs.find((a: any) => a.variable === 'port_number').schema.default
  t.is(port('web_port'), m.ports[0]?.port)
  t.is(port('peer_port'), m.ports[1]?.port)
  for (const p of [port('web_port'), port('peer_port')]) t.true(p >= 30000 && p < 40000)
  // 30443, our first choice, is community/palworld's default (research/nas-packaging.md §1.3).
  t.false([port('web_port'), port('peer_port')].includes(30443))
  t.true(network.find((a: any) => a.variable === 'host_network').schema.default)
  for (const tv of Object.values(testValues)) {
    for (const share of tv.storage.shares) {
      t.true(share.read_only)
      t.false(RESTRICTED_HOST_PATHS.includes(share.host_path_config.path))
    }
  }
})

test('the plain compose file is valid against the Compose specification schema', (t) => {
  const schema = JSON.parse(readFileSync(join(ROOT, 'node_modules/dclint/schemas/compose.schema.json'), 'utf8'))
  delete schema.$schema
  const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: false })
  const validate = ajv.compile(schema)
  const compose = parse(readFileSync(join(ROOT, 'packaging/container/compose.yaml'), 'utf8'))
  t.true(validate(compose), JSON.stringify(validate.errors))
  const svc = compose.services.quloud
  t.is(svc.network_mode, 'host')
  t.true(svc.volumes.find((v: any) => v.target === '/shares').read_only)
  t.is(svc.user, '568:568')
  // The same schema refuses a broken file, so the check is not vacuous.
  t.false(validate({ services: { quloud: { image: 1, ports: 'x' } } }))
})
