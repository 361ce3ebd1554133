/**
 * Offline checks of an Unraid Docker template, from what unraid/webgui parses (Helpers.php
 * xmlToVar/xmlToCommand, CreateDocker.php) and what template repositories' CI refuses, as recorded
 * in research/nas-packaging.md §2 and §5.2.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser'

const PATH_MODES = ['rw', 'rw,slave', 'rw,shared', 'ro', 'ro,slave', 'ro,shared']
const PORT_MODES = ['tcp', 'udp']
const TYPES = ['Path', 'Port', 'Variable', 'Label', 'Device']
const DISPLAY = ['always', 'always-hide', 'advanced', 'advanced-hide']
const ATTRS = ['Name', 'Target', 'Default', 'Mode', 'Description', 'Type', 'Display', 'Required', 'Mask']
const REQUIRED = ['Name', 'Repository', 'Overview', 'Category', 'Icon', 'Support', 'Project', 'TemplateURL', 'Network']
const FORBIDDEN = ['DateInstalled', 'Networking', 'Data', 'Environment']

export interface UnraidConfig {
  Name: string
  Target: string
  Default: string
  Mode: string
  Description: string
  Type: string
  Display: string
  Required: string
  Mask: string
  '#text'?: string
}

export interface UnraidCheck {
  errors: string[]
  container: Record<string, any> | null
  configs: UnraidConfig[]
}

export function checkUnraidTemplate(xml: string): UnraidCheck {
  const errors: string[] = []
  const wellFormed = XMLValidator.validate(xml)
  if (wellFormed !== true) return { errors: [`not well-formed XML: ${wellFormed.err.msg} (line ${wellFormed.err.line})`], container: null, configs: [] }
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', parseAttributeValue: false, parseTagValue: false, isArray: (n) => n === 'Config' }).parse(xml)
  const c = doc.Container
  if (!c) return { errors: ['the root element must be <Container>'], container: null, configs: [] }
  if (c.version !== '2') errors.push('<Container version="2"> expected')
  for (const t of REQUIRED) if (c[t] === undefined || c[t] === '') errors.push(`missing <${t}>`)
  for (const t of FORBIDDEN) if (c[t] !== undefined) errors.push(`<${t}> belongs to installed containers, not templates`)
  if (/\s/.test(String(c.Name ?? ''))) errors.push('<Name> must not contain whitespace')
  if (String(c.Overview ?? '').includes('Converted By Community Applications')) errors.push('<Overview> still says "Converted By Community Applications"')
  const configs: UnraidConfig[] = c.Config ?? []
  for (const x of configs) {
    const where = `Config "${x.Name}"`
    for (const a of ATTRS) if (!(a in x)) errors.push(`${where}: missing attribute ${a}`)
    if (!TYPES.includes(x.Type)) errors.push(`${where}: Type must be one of ${TYPES.join(', ')}`)
    if (x.Type === 'Path' && !PATH_MODES.includes(x.Mode)) errors.push(`${where}: Path Mode ${x.Mode} is not one of ${PATH_MODES.join(' | ')}`)
    if (x.Type === 'Port' && !PORT_MODES.includes(x.Mode)) errors.push(`${where}: Port Mode ${x.Mode} must be tcp or udp`)
    if (x.Type === 'Port' && !/^\d+$/.test(String(x.Target))) errors.push(`${where}: a Port Target is the container port number`)
    if (!DISPLAY.includes(x.Display)) errors.push(`${where}: Display ${x.Display}`)
    for (const b of ['Required', 'Mask'] as const) if (!['true', 'false'].includes(x[b])) errors.push(`${where}: ${b} must be true or false`)
    if (/^\s|\s$/.test(x.Name ?? '') || /\s{2,}/.test(x.Name ?? '')) errors.push(`${where}: odd spacing in Name`)
  }
  const webui = /\[PORT:(\d+)\]/.exec(String(c.WebUI ?? ''))
  if (webui && !configs.some((x) => x.Type === 'Port' && String(x.Target) === webui[1])) errors.push(`WebUI port ${webui[1]} is not the Target of a Port Config`)
  return { errors, container: c, configs }
}

export function checkCaProfile(xml: string): string[] {
  const wellFormed = XMLValidator.validate(xml)
  if (wellFormed !== true) return [`ca_profile.xml is not well-formed: ${wellFormed.err.msg}`]
  const doc = new XMLParser().parse(xml)
  const errors: string[] = []
  if (!doc.Maintainer) errors.push('ca_profile.xml: the root element must be <Maintainer>')
  else if (typeof doc.Maintainer.Profile !== 'string' || doc.Maintainer.Profile.trim() === '') errors.push('ca_profile.xml: <Profile> must not be empty')
  return errors
}
