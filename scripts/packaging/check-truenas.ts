/**
 * Offline checks of the TrueNAS catalog app, transcribed from truenas/apps_validation (app.yaml
 * metadata schema, questions rules, required files, template and test-values rules) as recorded
 * in research/nas-packaging.md §1.3 and §5.1. The upstream validator is Python and needs its own
 * checkout; these are our own checks of the same rules.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { Ajv } from 'ajv'

const SEMVER = '^[0-9]+\\.[0-9]+\\.[0-9]+$'
/** apps_validation/json_schema_utils.py APP_METADATA_JSON_SCHEMA (the rules we rely on). */
export const APP_METADATA_SCHEMA = {
  type: 'object',
  required: ['name', 'train', 'version', 'app_version', 'title', 'description', 'home', 'sources', 'maintainers', 'run_as_context', 'capabilities', 'host_mounts'],
  properties: {
    name: { type: 'string' },
    train: { type: 'string' },
    version: { type: 'string', pattern: SEMVER },
    app_version: { type: 'string' },
    title: { type: 'string' },
    description: { type: 'string' },
    home: { type: 'string' },
    date_added: { type: 'string', pattern: '^20[0-9]{2}-[0-9]{2}-[0-9]{2}$' },
    lib_version: { type: 'string', pattern: SEMVER },
    lib_version_hash: { type: 'string' },
    sources: { type: 'array', items: { type: 'string' } },
    categories: { type: 'array', items: { type: 'string' } },
    keywords: { type: 'array', items: { type: 'string' } },
    screenshots: { type: 'array', items: { type: 'string' } },
    icon: { type: 'string' },
    maintainers: { type: 'array', items: { type: 'object', required: ['name', 'email'], properties: { name: { type: 'string' }, email: { type: 'string' }, url: { type: 'string' } } } },
    run_as_context: { type: 'array', items: { type: 'object', required: ['description'], properties: { description: { type: 'string' }, uid: { type: 'integer' }, gid: { type: 'integer' }, user_name: { type: 'string' }, group_name: { type: 'string' } } } },
    capabilities: { type: 'array', items: { type: 'object', required: ['name', 'description'], properties: { name: { type: 'string' }, description: { type: 'string' } } } },
    host_mounts: { type: 'array', items: { type: 'object', required: ['description', 'host_path'], properties: { description: { type: 'string' }, host_path: { type: 'string' } } } },
    annotations: { type: 'object', properties: { min_scale_version: { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)+$' }, max_scale_version: { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)+$' } } },
  },
  dependentRequired: { lib_version: ['lib_version_hash'] },
}

/** apps_validation/portals.py: the x-portals items a rendered compose may carry. */
export const PORTAL_SCHEMA = {
  type: 'object',
  required: ['name', 'scheme', 'host', 'port', 'path'],
  additionalProperties: false,
  properties: { name: { type: 'string', minLength: 1 }, scheme: { enum: ['http', 'https'] }, host: { type: 'string' }, port: { type: 'integer' }, path: { type: 'string', pattern: '^/' } },
}

const SCHEMA_TYPES = new Set(['list', 'boolean', 'dict', 'cron', 'int', 'string', 'text', 'path', 'hostpath', 'hostpathdirectory', 'hostpathfile', 'uri', 'ipaddr'])
const KNOWN_REFS = new Set(['definitions/timezone', 'definitions/certificate', 'definitions/node_bind_ip', 'definitions/interface', 'definitions/gpu_configuration', 'normalize/ix_volume', 'normalize/acl', 'validations/container_image'])
const SCHEMA_ATTRS = new Set(['type', 'required', 'null', 'show_if', '$ref', 'hidden', 'editable', 'immutable', 'default', 'enum', 'min', 'max', 'attrs', 'items', 'private', 'valid_chars', 'min_length', 'max_length', 'show_subquestions_if', 'subquestions', 'description'])
/** Host paths the library refuses (library validations.py RESTRICTED). */
export const RESTRICTED_HOST_PATHS = ['/mnt', '/', '/mnt/.ix-apps', '/data', '/var/db', '/root', '/conf', '/audit', '/home', '/boot', '/var/log']

type Q = { variable?: unknown; label?: unknown; group?: unknown; schema?: any }

function checkQuestion(q: Q, where: string, errors: string[]): void {
  if (typeof q.variable !== 'string' || q.variable === '') errors.push(`${where}: variable missing`)
  if (typeof q.label !== 'string') errors.push(`${where}: label missing`)
  const s = q.schema
  if (typeof s !== 'object' || s === null) return void errors.push(`${where}: schema must be a dict`)
  if (!SCHEMA_TYPES.has(s.type)) errors.push(`${where}: schema.type ${String(s.type)} is not allowed`)
  for (const k of Object.keys(s)) if (!SCHEMA_ATTRS.has(k)) errors.push(`${where}: unknown schema attribute ${k}`)
  for (const ref of s.$ref ?? []) if (!KNOWN_REFS.has(ref)) errors.push(`${where}: unknown $ref ${ref}`)
  if (s.enum !== undefined) {
    if (!Array.isArray(s.enum) || s.enum.some((e: any) => typeof e !== 'object' || !('value' in e) || typeof e.description !== 'string')) errors.push(`${where}: enum entries need value and description`)
    else if (s.default !== undefined && !s.enum.some((e: any) => e.value === s.default)) errors.push(`${where}: default ${JSON.stringify(s.default)} is not one of the enum values`)
  }
  if (s.type === 'int' && s.default !== undefined && !Number.isInteger(s.default)) errors.push(`${where}: int default must be an integer`)
  if (s.type === 'boolean' && s.default !== undefined && typeof s.default !== 'boolean') errors.push(`${where}: boolean default must be a boolean`)
  if (s.type === 'dict') {
    const seen = new Set<string>()
    for (const [i, a] of (s.attrs ?? []).entries()) {
      if (seen.has(a.variable)) errors.push(`${where}.${a.variable}: variable repeated`)
      seen.add(a.variable)
      checkQuestion(a, `${where}.${a.variable ?? i}`, errors)
    }
  }
  if (s.type === 'list') for (const [i, item] of (s.items ?? []).entries()) checkQuestion(item, `${where}[${i}]`, errors)
}

export interface TruenasCheck {
  errors: string[]
  app: any
  questions: any
  values: any
  testValues: Record<string, any>
}

export function checkTruenasApp(dir: string): TruenasCheck {
  const errors: string[] = []
  const read = (f: string) => (existsSync(join(dir, f)) ? parse(readFileSync(join(dir, f), 'utf8')) : (errors.push(`missing ${f}`), null))
  const app = read('app.yaml')
  const values = read('ix_values.yaml')
  const questions = read('questions.yaml')
  if (!existsSync(join(dir, 'README.md'))) errors.push('missing README.md')
  const ajv = new Ajv({ allErrors: true, strict: false })
  if (app) {
    const validate = ajv.compile(APP_METADATA_SCHEMA)
    if (!validate(app)) for (const e of validate.errors ?? []) errors.push(`app.yaml${e.instancePath}: ${e.message}`)
    const parts = dir.replace(/\/$/, '').split('/')
    if (app.name !== parts.at(-1)) errors.push(`app.yaml: name ${app.name} must equal the folder name ${parts.at(-1)}`)
    if (app.lib_version_hash !== undefined && !/^[0-9a-f]{64}$/.test(app.lib_version_hash)) errors.push('app.yaml: lib_version_hash must be a sha256')
  }
  if (values) {
    if (typeof values !== 'object' || Array.isArray(values)) errors.push('ix_values.yaml must be a dict')
    for (const k of Object.keys(values.images ?? {})) if (!k.endsWith('image')) errors.push(`ix_values.yaml: image key ${k} must end in "image"`)
    if (!values.images?.image) errors.push('ix_values.yaml: images.image missing')
  }
  if (questions) {
    const groups = new Set<string>((questions.groups ?? []).map((g: any) => g.name))
    for (const g of questions.groups ?? []) if (typeof g.name !== 'string' || typeof g.description !== 'string') errors.push('questions.yaml: every group needs name and description')
    const seen = new Set<string>()
    for (const [i, q] of (questions.questions ?? []).entries()) {
      if (!groups.has(q.group)) errors.push(`questions.yaml: ${q.variable}: group "${q.group}" is not declared in groups`)
      if (q.variable === 'ix_portals') errors.push('questions.yaml: ix_portals is reserved')
      if (seen.has(q.variable)) errors.push(`questions.yaml: ${q.variable} repeated`)
      seen.add(q.variable)
      checkQuestion(q, `questions.yaml ${q.variable ?? i}`, errors)
    }
  }
  const template = join(dir, 'templates/docker-compose.yaml')
  const testDir = join(dir, 'templates/test_values')
  if (!existsSync(template)) errors.push('missing templates/docker-compose.yaml')
  const testValues: Record<string, any> = {}
  if (!existsSync(testDir) || readdirSync(testDir).filter((f) => f.endsWith('.yaml')).length === 0) errors.push('templates/test_values needs at least one .yaml file')
  else for (const f of readdirSync(testDir).filter((x) => x.endsWith('.yaml'))) testValues[f] = parse(readFileSync(join(testDir, f), 'utf8'))
  // The catalog tooling vendors the render library into templates/library/base_vX_Y_Z; nothing else may live there.
  const library = join(dir, 'templates/library')
  for (const f of existsSync(library) ? readdirSync(library) : []) if (!f.startsWith('base_v')) errors.push(`templates/library may hold only base_v* (found ${f})`)
  if (values?.images?.container_utils_image === undefined && existsSync(template) && readFileSync(template, 'utf8').includes('deps.perms')) errors.push('ix_values.yaml: the perms helper needs images.container_utils_image')
  return { errors, app, questions, values, testValues }
}
