import test from 'ava'
import { choosePeers, siteOf } from './placement.js'
import { nextPeerAudit, peerStateAfterAudit, PEER_FAIL_LIMIT } from './health.js'
import { NEW_PEER_AUDIT } from '../ports/index-store.js'

test('siteOf: host and network from a peer URL', (t) => {
  t.deepEqual(siteOf('https://192.168.1.20:30481'), { host: '192.168.1.20', network: '192.168.1.0/24' })
  t.deepEqual(siteOf('https://[2001:db8:1:2::7]:443'), { host: '2001:db8:1:2::7', network: '2001:db8:1::/48' })
  t.deepEqual(siteOf('https://NAS.alice.example:30481'), { host: 'nas.alice.example', network: 'alice.example' })
})

test('choosePeers: distinct peers, least loaded first, deterministic', (t) => {
  const c = [{ id: 'b', load: 1 }, { id: 'a', load: 1 }, { id: 'c', load: 0 }, { id: 'a', load: 0 }]
  t.deepEqual(choosePeers(c, 2).map((x) => x.id), ['c', 'a'])
  t.deepEqual(choosePeers(c, 9).map((x) => x.id), ['c', 'a', 'b'])
  t.deepEqual(choosePeers(c, 0), [])
})

test('choosePeers: passing peers first, then new hosts and networks, then better scores, then load', (t) => {
  const failed = { id: 'f', load: 0, failedLast: true, host: '10.0.9.1', network: '10.0.9.0/24' }
  const sameNet = { id: 'n', load: 0, host: '10.0.1.2', network: '10.0.1.0/24' }
  const otherNet = { id: 'o', load: 5, host: '10.0.2.2', network: '10.0.2.0/24' }
  const lowScore = { id: 'l', load: 0, score: 0.5, host: '10.0.3.2', network: '10.0.3.0/24' }
  const holders = [{ host: '10.0.1.1', network: '10.0.1.0/24' }]
  t.deepEqual(choosePeers([failed, sameNet, otherNet, lowScore], 4, holders).map((x) => x.id), ['o', 'l', 'n', 'f'])
  // Two picks for one pack: the second avoids the network of the first.
  const a1 = { id: 'a1', load: 0, host: '10.0.5.1', network: '10.0.5.0/24' }
  const a2 = { id: 'a2', load: 0, host: '10.0.5.2', network: '10.0.5.0/24' }
  const b1 = { id: 'b1', load: 3, host: '10.0.6.1', network: '10.0.6.0/24' }
  t.deepEqual(choosePeers([a1, a2, b1], 2).map((x) => x.id), ['a1', 'b1'])
})

test('peer health: the score moves with each round; failing after the limit, active again after a pass; blocked stays', (t) => {
  let a = { ...NEW_PEER_AUDIT }
  a = nextPeerAudit(a, false, 10)
  t.like(a, { passed: 0, failed: 1, consecutiveFailures: 1, lastMs: 10, lastOkMs: null, score: 0.75 })
  t.is(peerStateAfterAudit('active', a), 'active')
  for (let i = 1; i < PEER_FAIL_LIMIT; i++) a = nextPeerAudit(a, false, 10 + i)
  t.is(a.consecutiveFailures, PEER_FAIL_LIMIT)
  t.is(peerStateAfterAudit('active', a), 'failing')
  t.is(peerStateAfterAudit('blocked', a), 'blocked')
  a = nextPeerAudit(a, true, 99)
  t.like(a, { consecutiveFailures: 0, lastOkMs: 99, passed: 1 })
  t.true(a.score > 0.25 && a.score < 1)
  t.is(peerStateAfterAudit('failing', a), 'active')
})
