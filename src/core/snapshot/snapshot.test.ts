import test from 'ava'
import fc from 'fast-check'
import { SodiumNativeCrypto } from '../../adapters/sodium/sodium-native-crypto.js'
import { asChunkId, asPackId, asShareId, asNodeId } from '../ids.js'
import { BackupError } from '../errors.js'
import {
  checkEntryName, decodeCatalog, decodeTree, encodeCatalog, encodeShareKeyText, encodeTree, openOwnerPointer, openSharePointer,
  parseShareKeyText, sealOwnerPointer, sealSharePointer, splitSharePath, type TreeEntry,
} from './index.js'

const sodium = new SodiumNativeCrypto()
const ref = (n: number, plain = 100) => ({ chunkId: asChunkId(new Uint8Array(32).fill(n)), packId: asPackId(new Uint8Array(32).fill(n + 1)), offsetBytes: n * 1000, sealedBytes: plain + 41, plainBytes: plain })
const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v))
const code = (c: string) => ({ instanceOf: BackupError, code: c })

test('a directory manifest round-trips sorted, with files, folders, symlinks and empty files', (t) => {
  const entries: TreeEntry[] = [
    { kind: 'symlink', name: 'z-link', mode: 0o777, mtimeMs: 3.5, target: '../outside/is/just/text' },
    { kind: 'file', name: 'ünï cödé.txt', mode: 0o640, mtimeMs: 1_700_000_000_123.25, sizeBytes: 300, chunks: [ref(1, 100), ref(2, 200)] },
    { kind: 'file', name: 'empty', mode: 0o600, mtimeMs: 1, sizeBytes: 0, chunks: [] },
    { kind: 'dir', name: 'sub', mode: 0o755, mtimeMs: 2, tree: [ref(3)] },
  ]
  const back = decodeTree(encodeTree(entries), 'test')
  t.deepEqual(back.map((e) => e.name), ['empty', 'sub', 'z-link', 'ünï cödé.txt'])
  t.deepEqual(back.find((e) => e.name === 'ünï cödé.txt'), entries[1])
  t.deepEqual(back.find((e) => e.name === 'z-link'), entries[0])
})

test('encodeTree writes exactly the JSON of FORMAT.md §10 (the object form through JSON.stringify)', (t) => {
  const reference = (entries: readonly TreeEntry[]) => {
    const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    const refs = (rs: ReadonlyArray<ReturnType<typeof ref>>) => rs.map((r) => `${Buffer.from(r.chunkId).toString('hex')}:${Buffer.from(r.packId).toString('hex')}:${r.offsetBytes}:${r.sealedBytes}:${r.plainBytes}`)
    const out = sorted.map((e) => {
      const base = { n: e.name, t: e.kind === 'file' ? 'f' : e.kind === 'dir' ? 'd' : 'l', m: e.mode & 0o7777, mt: e.mtimeMs }
      if (e.kind === 'file') return { ...base, s: e.sizeBytes, c: refs(e.chunks) }
      if (e.kind === 'dir') return { ...base, c: refs(e.tree) }
      return { ...base, l: e.target }
    })
    return new TextEncoder().encode(JSON.stringify({ v: 1, entries: out }))
  }
  const base = { name: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }), mode: fc.integer({ min: 0, max: 0o177777 }), mtimeMs: fc.oneof(fc.integer({ min: 0, max: 2 ** 45 }), fc.double({ min: 0, max: 8e15, noNaN: true })) }
  const refs = fc.array(fc.integer({ min: 1, max: 200 }).map((n) => ref(n, n)), { maxLength: 3 })
  const entry = fc.oneof(
    fc.record({ ...base, kind: fc.constant('file' as const), sizeBytes: fc.nat(), chunks: refs }),
    fc.record({ ...base, kind: fc.constant('dir' as const), tree: refs }),
    fc.record({ ...base, kind: fc.constant('symlink' as const), target: fc.string({ unit: 'binary', maxLength: 20 }) }),
  )
  fc.assert(fc.property(fc.array(entry, { maxLength: 8 }), (entries) => t.deepEqual(encodeTree(entries), reference(entries))))
  t.deepEqual(encodeTree([]), json({ v: 1, entries: [] }))
})

test('manifest names that could leave their folder are PATH_UNSAFE; malformed entries are INPUT_INVALID', (t) => {
  const file = (n: unknown) => ({ n, t: 'f', m: 420, mt: 1, s: 0, c: [] })
  for (const bad of ['..', '.', '', 'a/b', '/etc', 'a\0b', 'a\\b', 'x'.repeat(256)]) {
    t.throws(() => decodeTree(json({ v: 1, entries: [file(bad)] }), 'm'), code('PATH_UNSAFE'), JSON.stringify(bad))
  }
  t.throws(() => decodeTree(json({ v: 1, entries: [file('a'), file('a')] }), 'm'), code('PATH_UNSAFE'))
  const badShapes = [
    { v: 2, entries: [] },
    { v: 1, entries: [{ ...file('a'), extra: 1 }] },
    { v: 1, entries: [{ ...file('a'), s: 5 }] }, // size without chunks
    { v: 1, entries: [{ ...file('a'), m: 0o10000 }] },
    { v: 1, entries: [{ n: 'd', t: 'd', m: 1, mt: 1, c: [] }] },
    { v: 1, entries: [{ n: 'l', t: 'l', m: 1, mt: 1, l: '' }] },
    { v: 1, entries: [{ ...file('a'), c: ['zz'] }] },
    { v: 1, entries: [{ ...file('a'), s: 100, c: [`${'a'.repeat(64)}:${'b'.repeat(64)}:0:99:100`] }] }, // sealed ≠ plain + overhead
  ]
  for (const bad of badShapes) t.throws(() => decodeTree(json(bad), 'm'), code('INPUT_INVALID'), JSON.stringify(bad).slice(0, 80))
  t.throws(() => decodeTree(new Uint8Array([0xff, 0xfe]), 'm'), code('INPUT_INVALID'))
})

test('request paths: relative names only', (t) => {
  t.deepEqual(splitSharePath('docs//a.txt'), ['docs', 'a.txt'])
  t.deepEqual(splitSharePath('.'), [])
  t.throws(() => splitSharePath('/etc/passwd'), code('PATH_UNSAFE'))
  t.throws(() => splitSharePath('docs/../../x'), code('PATH_UNSAFE'))
  t.is(checkEntryName('ok name.txt'), 'ok name.txt')
})

test('catalog round-trips; placements must point at listed peers', (t) => {
  const peer = { nodeId: asNodeId(new Uint8Array(32).fill(7)), url: 'https://127.0.0.1:30481', certSha256: new Uint8Array(32).fill(8) }
  const catalog = {
    snapshots: [{ seq: 1, createdAtMs: 5, root: [ref(1)], fileCount: 2, dirCount: 1, totalBytes: 9, skipped: [{ path: 'x', reason: 'changed' }] }],
    peers: [peer],
    packs: [{ packId: asPackId(new Uint8Array(32).fill(2)), sizeBytes: 4096, merkleRoot: new Uint8Array(32).fill(3), peers: [0] }],
  }
  t.deepEqual(decodeCatalog(encodeCatalog(catalog)), catalog)
  const bad = JSON.parse(new TextDecoder().decode(encodeCatalog(catalog)))
  bad.packs[0][3] = [1]
  t.throws(() => decodeCatalog(json(bad)), code('INPUT_INVALID'))
})

test('pointer values: sealed under the pointer key with the locator as AD; other keys or locators fail', (t) => {
  const key = sodium.randomBytes(32)
  const locator = sodium.randomBytes(32)
  const v = { catalog: [ref(1)], peers: [], ownerLocator: sodium.randomBytes(32), provingKeySha256: sodium.randomBytes(32), verificationKeySha256: sodium.randomBytes(32) }
  const sealed = sealSharePointer(sodium, key, locator, v)
  t.deepEqual(openSharePointer(sodium, key, locator, sealed), v)
  t.throws(() => openSharePointer(sodium, sodium.randomBytes(32), locator, sealed), code('DECRYPT_FAILED'))
  t.throws(() => openSharePointer(sodium, key, sodium.randomBytes(32), sealed), code('DECRYPT_FAILED'))
  const flipped = sealed.slice()
  flipped[30] = (flipped[30] as number) ^ 1
  t.throws(() => openSharePointer(sodium, key, locator, flipped), code('DECRYPT_FAILED'))
  const owner = { shares: [{ shareId: asShareId(new Uint8Array(16).fill(1)), name: 'photos', path: '/mnt/p', copies: 3, schedule: '0 3 * * *', watch: false }], peers: [], provingKeySha256: v.provingKeySha256, verificationKeySha256: v.verificationKeySha256 }
  t.deepEqual(openOwnerPointer(sodium, key, locator, sealOwnerPointer(sodium, key, locator, owner)), owner)
})

test('share key text round-trips; a mistyped key character is caught', (t) => {
  const s = { name: 'photos', shareId: asShareId(sodium.randomBytes(16)), shareKey: sodium.randomBytes(32), peers: ['https://127.0.0.1:1', 'https://[::1]:2'] }
  const text = encodeShareKeyText(s)
  t.deepEqual(parseShareKeyText(text), s)
  const keyLine = text.split('\n').find((l) => l.startsWith('key: ')) as string
  const typo = keyLine.slice(0, 8) + (keyLine[8] === '0' ? '1' : '0') + keyLine.slice(9)
  t.throws(() => parseShareKeyText(text.replace(keyLine, typo)), code('RECOVERY_KEY_INVALID'))
  t.throws(() => parseShareKeyText('hello'), code('INPUT_INVALID'))
  t.throws(() => parseShareKeyText(text.replace('name: photos', 'name: ../x')), code('PATH_UNSAFE'))
})
