/** Unraid: a Community Applications Docker template and the repository's ca_profile.xml. */
import { GENERATED, xmlEscape as x, type Files } from './render-common.js'
import { portOf, volumeOf, type Manifest } from './manifest.js'
import { iconPng } from './icon.js'

interface ConfigEntry {
  name: string
  target: string
  default: string
  mode: string
  description: string
  type: 'Path' | 'Port' | 'Variable'
  display: 'always' | 'advanced'
  required: boolean
  mask: boolean
}

const config = (c: ConfigEntry) =>
  `  <Config Name="${x(c.name)}" Target="${x(c.target)}" Default="${x(c.default)}" Mode="${c.mode}" Description="${x(c.description)}" Type="${c.type}" Display="${c.display}" Required="${c.required}" Mask="${c.mask}">${c.mask ? '' : x(c.default)}</Config>`

export function renderUnraid(m: Manifest): Files {
  const web = portOf(m, 'web')
  const peer = portOf(m, 'peer')
  const data = volumeOf(m, 'data')
  const shares = volumeOf(m, 'shares')
  const repo = m.unraid.templateRepo
  const entries: ConfigEntry[] = [
    // In host mode Unraid hands these to the container as TCP_PORT_<target>; the entrypoint uses them.
    { name: `${web.title} port`, target: String(web.port), default: String(web.port), mode: 'tcp', description: web.description, type: 'Port', display: 'always', required: true, mask: false },
    { name: `${peer.title} port`, target: String(peer.port), default: String(peer.port), mode: 'tcp', description: peer.description, type: 'Port', display: 'always', required: true, mask: false },
    { name: 'Appdata', target: data.path, default: m.unraid.appdata, mode: 'rw', description: data.description, type: 'Path', display: 'advanced', required: true, mask: false },
    { name: shares.title, target: shares.path, default: m.unraid.sharesDefault, mode: 'ro', description: `${shares.description} Map /mnt/user (all user shares) or a single share.`, type: 'Path', display: 'always', required: true, mask: false },
    { name: 'LAN discovery', target: m.ssdp.env, default: 'true', mode: '', description: m.ssdp.description, type: 'Variable', display: 'advanced', required: false, mask: false },
    ...m.env.map((e): ConfigEntry => ({ name: e.title, target: e.name, default: e.default, mode: '', description: e.description, type: 'Variable', display: e.advanced ? 'advanced' : 'always', required: false, mask: e.secret })),
  ]
  const xml = [
    '<?xml version="1.0"?>',
    `<!-- ${GENERATED} -->`,
    '<Container version="2">',
    `  <Name>${x(m.name)}</Name>`,
    `  <Repository>${x(m.image.repository)}:latest</Repository>`,
    `  <Registry>${x(m.source)}/pkgs/container/${x(m.name)}</Registry>`,
    '  <Network>host</Network>',
    '  <Privileged>false</Privileged>',
    `  <Support>${x(m.support)}</Support>`,
    `  <Project>${x(m.homepage)}</Project>`,
    `  <Overview>${x(m.description)} Host networking lets nodes on your LAN find each other (SSDP); the shares you map are read-only.</Overview>`,
    `  <Category>${x(m.unraid.category)}</Category>`,
    `  <WebUI>http://[IP]:[PORT:${web.port}]/</WebUI>`,
    `  <TemplateURL>${x(repo)}/templates/${x(m.name)}.xml</TemplateURL>`,
    `  <Icon>${x(repo)}/img/${x(m.name)}.png</Icon>`,
    `  <ExtraParams>--user=${x(m.unraid.user)}</ExtraParams>`,
    ...entries.map(config),
    '</Container>',
    '',
  ].join('\n')
  const profile = [
    '<?xml version="1.0"?>',
    `<!-- ${GENERATED} -->`,
    '<Maintainer>',
    `  <Icon>${x(repo)}/img/${x(m.name)}.png</Icon>`,
    `  <Profile>${x(m.maintainer.name)}: ${x(m.summary)}</Profile>`,
    `  <WebPage>${x(m.homepage)}</WebPage>`,
    `  <Forum>${x(m.support)}</Forum>`,
    '</Maintainer>',
    '',
  ].join('\n')
  return new Map<string, string | Uint8Array>([
    [`packaging/unraid/templates/${m.name}.xml`, xml],
    ['packaging/unraid/ca_profile.xml', profile],
    [`packaging/unraid/img/${m.name}.png`, iconPng(256, m.icon.background, m.icon.foreground)],
  ])
}
