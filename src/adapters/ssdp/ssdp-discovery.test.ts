import test from 'ava'
import { checkLocation } from './ssdp-discovery.js'

test('an SSDP LOCATION is used only when it is our announcement path at the address the packet came from', (t) => {
  t.is(checkLocation('https://10.0.0.5:30481/v1/announcement', '10.0.0.5'), 'https://10.0.0.5:30481/v1/announcement')
  t.is(checkLocation(' https://10.0.0.5:30481/v1/announcement ', '10.0.0.5'), 'https://10.0.0.5:30481/v1/announcement')
  t.is(checkLocation('https://10.0.0.6:30481/v1/announcement', '10.0.0.5'), null, 'another host')
  t.is(checkLocation('http://10.0.0.5:30481/v1/announcement', '10.0.0.5'), null, 'plain http')
  t.is(checkLocation('https://10.0.0.5:30481/description.xml', '10.0.0.5'), null, 'another path')
  t.is(checkLocation('https://10.0.0.5:0/v1/announcement', '10.0.0.5'), null, 'port 0')
  t.is(checkLocation('https://10.0.0.5:99999/v1/announcement', '10.0.0.5'), null, 'port out of range')
  t.is(checkLocation(undefined, '10.0.0.5'), null)
  t.is(checkLocation(`https://10.0.0.5:1/v1/announcement${'x'.repeat(300)}`, '10.0.0.5'), null)
})
