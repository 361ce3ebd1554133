import test from 'ava'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { checkCaProfile, checkUnraidTemplate } from '../../scripts/packaging/check-unraid.js'
import { loadManifest } from '../../scripts/packaging/manifest.js'
import { ROOT } from '../helpers/build.js'

const xml = () => readFileSync(join(ROOT, 'packaging/unraid/templates/quloud.xml'), 'utf8')

test('the Community Applications template passes the dockerMan and CA rules', (t) => {
  const { errors, container } = checkUnraidTemplate(xml())
  t.deepEqual(errors, [])
  t.is(container?.Name, 'quloud')
})

test('project rules: host network, read-only shares, masked secrets, WebUI on the settings port, Unraid user', (t) => {
  const m = loadManifest()
  const { container, configs } = checkUnraidTemplate(xml())
  t.is(container?.Network, 'host')
  t.is(container?.WebUI, `http://[IP]:[PORT:${m.ports[0]?.port}]/`)
  t.is(container?.ExtraParams, '--user=99:100')
  const shares = configs.find((c) => c.Target === '/shares')
  t.regex(shares?.Mode ?? '', /^ro/)
  const data = configs.find((c) => c.Target === '/data')
  t.is(data?.Mode, 'rw')
  t.is(data?.Default, '/mnt/user/appdata/quloud')
  for (const secret of m.env.filter((e) => e.secret)) t.is(configs.find((c) => c.Target === secret.name)?.Mask, 'true')
  for (const p of m.ports) t.truthy(configs.find((c) => c.Type === 'Port' && c.Target === String(p.port)), `port ${p.port} is a Port config, so Unraid passes TCP_PORT_${p.port} in host mode`)
})

test('broken templates are refused with the reason', (t) => {
  const bad = xml().replace('Mode="ro"', 'Mode="readonly"').replace(/<Support>.*<\/Support>\n/, '').replace('[PORT:30480]', '[PORT:8080]').replace('<Name>quloud</Name>', '<Name>qu loud</Name>')
  const { errors } = checkUnraidTemplate(bad)
  for (const re of [/Path Mode readonly/, /missing <Support>/, /WebUI port 8080 is not the Target/, /<Name> must not contain whitespace/]) t.true(errors.some((e) => re.test(e)), `${re} in ${errors.join('; ')}`)
  t.regex(checkUnraidTemplate('<Container version="2"><Name>x</Name>').errors[0] ?? '', /not well-formed/)
  t.regex(checkUnraidTemplate('<Other/>').errors[0] ?? '', /root element must be <Container>/)
})

test('ca_profile.xml has a non-empty profile', (t) => {
  t.deepEqual(checkCaProfile(readFileSync(join(ROOT, 'packaging/unraid/ca_profile.xml'), 'utf8')), [])
  t.regex(checkCaProfile('<Maintainer><Profile> </Profile></Maintainer>')[0] ?? '', /must not be empty/)
})
