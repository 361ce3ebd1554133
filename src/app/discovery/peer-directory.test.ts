import test from 'ava'
import { PeerDirectory, MAX_KNOWN_PEERS } from './peer-directory.js'
import { identityFromSeed } from '../../core/identity.js'
import { announcementToJson, signAnnouncement } from '../../core/protocol/index.js'
import { sodium, sampleBytes } from '../../../test/helpers/index.js'

let now = 1_700_000_000_000
const clock = { nowMs: () => now }
const self = identityFromSeed(sodium, sampleBytes(1, 32))
const node = (seed: number) => identityFromSeed(sodium, sampleBytes(100 + seed, 32))
const announce = (seed: number, over: { issuedAtMs?: number; lifeMs?: number; port?: number } = {}) => {
  const issuedAtMs = over.issuedAtMs ?? now
  return signAnnouncement(sodium, node(seed), { addresses: [`https://127.0.0.1:${over.port ?? 1000 + seed}`], certSha256: sampleBytes(seed, 32), capacityBytes: 1, issuedAtMs, expiresAtMs: issuedAtMs + (over.lifeMs ?? 3600_000) })
}

test('learns verified announcements, refuses forged ones and its own, keeps the newest, drops expired ones', (t) => {
  const dir = new PeerDirectory({ sodium, clock, self: () => self.nodeId })
  dir.learn(announcementToJson(announce(1)), 'announced')
  t.is(dir.list().length, 1)
  const forged = { ...announcementToJson(announce(2)), addresses: ['https://10.9.9.9:1'] }
  t.throws(() => dir.learn(forged, 'announced'), { code: 'SIGNATURE_INVALID' })
  const own = signAnnouncement(sodium, self, { addresses: ['https://127.0.0.1:1'], certSha256: sampleBytes(3, 32), capacityBytes: 1, issuedAtMs: now, expiresAtMs: now + 1000 })
  t.throws(() => dir.learn(announcementToJson(own), 'announced'), { code: 'INPUT_INVALID' })
  // A newer announcement replaces an older one; an older one never replaces a newer.
  dir.add(announce(1, { issuedAtMs: now + 10, port: 2001 }), 'exchange', null)
  t.is(dir.list()[0]?.announcement.addresses[0], 'https://127.0.0.1:2001')
  dir.add(announce(1, { issuedAtMs: now - 10, port: 3001 }), 'exchange', null)
  t.is(dir.list()[0]?.announcement.addresses[0], 'https://127.0.0.1:2001')
  // Reached at an address: verified, and the more direct source stays.
  dir.add(announce(1, { issuedAtMs: now + 10, port: 2001 }), 'ssdp', 'https://127.0.0.1:2001')
  t.like(dir.list()[0], { source: 'ssdp', url: 'https://127.0.0.1:2001', verifiedAtMs: now })
  dir.add(announce(1, { issuedAtMs: now + 10, port: 2001 }), 'exchange', null)
  t.is(dir.list()[0]?.source, 'ssdp')
  now += 3600_000 + 11
  t.deepEqual(dir.list(), [])
})

test('keeps at most 1000 nodes, dropping the oldest heard of', (t) => {
  const dir = new PeerDirectory({ sodium, clock, self: () => self.nodeId })
  for (let i = 0; i < MAX_KNOWN_PEERS + 5; i++) dir.add(announce(i), 'exchange', null)
  const list = dir.list()
  t.is(list.length, MAX_KNOWN_PEERS)
  t.is(list[0]?.announcement.addresses[0], 'https://127.0.0.1:1005')
})
