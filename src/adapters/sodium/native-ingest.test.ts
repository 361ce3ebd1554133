import test, { type ExecutionContext } from 'ava'
import { closeSync, constants, fstatSync, mkdirSync, openSync, readFileSync, statSync, symlinkSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { allocateAlignedShared, nativeIngest, PAGE_BYTES, type NativeIngest } from './native-ingest.js'
import { findCut, gearTable, validateChunkSizes, type ChunkSizes } from '../../core/chunking/index.js'
import { MerkleTree, merkleRoot } from '../../core/audit/index.js'
import { SodiumNativeCrypto } from './sodium-native-crypto.js'
import { allocateShared } from '../../core/pack/index.js'
import { sodium, sampleBytes, hex, unhex, tempDir, descriptorFlags } from '../../../test/helpers/index.js'
import libsodium from 'sodium-native'

// The native module is built by `npm install` (scripts/build-native.mjs); CI requires it.
const native = nativeIngest() as NativeIngest

test('the native module is built and loaded', (t) => {
  t.truthy(native)
})

test('gearCut gives findCut\'s cut for every start, end and size, before and at the end of input', (t) => {
  const gear = new Int32Array(gearTable(sodium, new Uint8Array(32).fill(3)).buffer)
  const data = sampleBytes(1, 400_000)
  const sizesList: ChunkSizes[] = [
    { minBytes: 64, avgBytes: 256, maxBytes: 1024 },
    { minBytes: 1, avgBytes: 64, maxBytes: 65 },
    { minBytes: 2048, avgBytes: 8192, maxBytes: 65536 },
    { minBytes: 256 * 1024, avgBytes: 1024 * 1024, maxBytes: 4 * 1024 * 1024 },
  ]
  let checked = 0
  for (const sizes of sizesList) {
    const masks = validateChunkSizes(sizes)
    for (let start = 0; start < data.length; start += 9973) {
      for (const end of [start, start + 1, start + sizes.minBytes, start + sizes.minBytes + 1, Math.min(data.length, start + sizes.maxBytes), data.length]) {
        if (end > data.length) continue
        const want = findCut(gear, data, start, end, sizes, masks)
        t.is(native.gearCut(gear, data, start, end, sizes.minBytes, sizes.avgBytes, sizes.maxBytes, masks.small >>> 0, masks.large >>> 0), want, `${JSON.stringify(sizes)} ${start}..${end}`)
        checked++
      }
    }
  }
  t.true(checked > 100)
})

test('gearCut cuts a whole buffer exactly as findCut does, at odd and even places, in both mask regions and at the last byte', (t) => {
  const data = sampleBytes(11, 300_000)
  let largeRegion = 0
  for (const [k, sizes] of ([
    { minBytes: 1, avgBytes: 64, maxBytes: 65 },
    { minBytes: 3, avgBytes: 64, maxBytes: 201 },
    { minBytes: 64, avgBytes: 256, maxBytes: 1024 },
    { minBytes: 1001, avgBytes: 4096, maxBytes: 9999 },
  ] as ChunkSizes[]).entries()) {
    const gear = new Int32Array(gearTable(sodium, new Uint8Array(32).fill(20 + k)).buffer)
    const masks = validateChunkSizes(sizes)
    const cuts = { ts: [] as number[], c: [] as number[] }
    for (const [name, cut] of [
      ['ts', (s: number) => findCut(gear, data, s, data.length, sizes, masks)],
      ['c', (s: number) => native.gearCut(gear, data, s, data.length, sizes.minBytes, sizes.avgBytes, sizes.maxBytes, masks.small >>> 0, masks.large >>> 0)],
    ] as const) {
      for (let s = 0; s < data.length; ) {
        const n = cut(s)
        cuts[name].push(n)
        s += n
      }
    }
    t.deepEqual(cuts.c, cuts.ts, JSON.stringify(sizes))
    t.true(cuts.ts.some((n) => n % 2 === 0) && cuts.ts.some((n) => n % 2 === 1), 'cuts at both parities')
    if (cuts.ts.some((n) => n > sizes.avgBytes && n < sizes.maxBytes)) largeRegion++
  }
  t.true(largeRegion >= 3, 'cuts in the large-mask region')
})

test('gearCut refuses bad arguments with a TypeError', (t) => {
  const gear = new Int32Array(256)
  const data = new Uint8Array(100)
  t.throws(() => native.gearCut(new Int32Array(255), data, 0, 100, 1, 2, 3, 0, 0), { instanceOf: TypeError })
  t.throws(() => native.gearCut(gear, data, 0, 101, 1, 2, 3, 0, 0), { instanceOf: TypeError })
  t.throws(() => native.gearCut(gear, data, 50, 10, 1, 2, 3, 0, 0), { instanceOf: TypeError })
  t.throws(() => native.gearCut(gear, data, 0, 100, 4, 2, 3, 0, 0), { instanceOf: TypeError })
  t.throws(() => native.gearCut(gear, data, -1, 100, 1, 2, 3, 0, 0), { instanceOf: TypeError })
})

test('merkleRootAsync gives merkleRoot\'s root off the calling thread, on plain and shared memory, many at once', async (t) => {
  const sizes = [1, 4095, 4097, 5 * 4096 + 1, 100_000, 16 * 1024 * 1024 + 3]
  const objects = sizes.map((n) => {
    const shared = allocateShared(n)
    shared.set(sampleBytes(n % 89, n))
    return shared
  })
  const roots = await Promise.all(objects.flatMap((o) => [native.merkleRootAsync(o), native.merkleRootAsync(o.slice())]))
  objects.forEach((o, i) => {
    const want = hex(native.merkleRoot(o))
    t.is(hex(roots[2 * i] as Uint8Array), want, `${o.length} bytes, shared`)
    t.is(hex(roots[2 * i + 1] as Uint8Array), want, `${o.length} bytes, plain`)
  })
  t.throws(() => native.merkleRootAsync(new Uint8Array(0)), { instanceOf: TypeError, message: /empty/ })
  t.throws(() => native.merkleRootAsync(new Uint16Array(4) as unknown as Uint8Array), { instanceOf: TypeError })
})

test('merkleRootAsync hashes a plain buffer as it was when called, even if the buffer is then changed or transferred away', async (t) => {
  const obj = sampleBytes(5, 3 * 1024 * 1024)
  const want = hex(native.merkleRoot(obj))
  const changed = obj.slice()
  const pending = native.merkleRootAsync(changed)
  changed.fill(0)
  t.is(hex(await pending), want)
  const moved = obj.slice()
  const pending2 = native.merkleRootAsync(moved)
  structuredClone(moved.buffer, { transfer: [moved.buffer] }) // detaches it
  t.is(moved.length, 0)
  t.is(hex(await pending2), want)
})

test('merkleRoot equals core\'s for odd sizes and levels, on plain and shared memory', (t) => {
  for (const n of [1, 4095, 4096, 4097, 3 * 4096, 5 * 4096 + 1, 7 * 4096 - 3, 100_000, 16 * 1024 * 1024 + 3]) {
    const obj = sampleBytes(n % 97, n)
    const shared = allocateShared(n)
    shared.set(obj)
    const want = hex(new MerkleTree(sodium, obj).root) // the TypeScript tree
    t.is(hex(native.merkleRoot(obj)), want, `${n} bytes`)
    t.is(hex(native.merkleRoot(shared)), want, `${n} bytes, shared`)
  }
  t.throws(() => native.merkleRoot(new Uint8Array(0)), { instanceOf: TypeError, message: /empty/ })
})

test('the Sodium adapter offers the native root, and core\'s merkleRoot() uses it', (t) => {
  const s = new SodiumNativeCrypto()
  t.truthy(s.merkleRoot)
  const obj = sampleBytes(5, 50_000)
  t.is(hex(merkleRoot(s, obj)), hex(new MerkleTree(s, obj).root))
  t.throws(() => merkleRoot(s, new Uint8Array(0)), { code: 'INPUT_INVALID' })
})

test('copy writes the source at the offset, into shared memory too, and refuses what does not fit', (t) => {
  const target = allocateShared(64)
  native.copy(target, 10, Uint8Array.from([1, 2, 3]))
  t.deepEqual([...target.subarray(9, 14)], [0, 1, 2, 3, 0])
  native.copy(target, 61, Uint8Array.from([7, 8, 9]))
  t.deepEqual([...target.subarray(60)], [0, 7, 8, 9])
  const before = target.slice()
  t.throws(() => native.copy(target, 62, Uint8Array.from([1, 2, 3])), { instanceOf: TypeError })
  t.throws(() => native.copy(target, 65, new Uint8Array(0)), { instanceOf: TypeError })
  t.throws(() => native.copy(target, -1, new Uint8Array(1)), { instanceOf: TypeError })
  t.deepEqual(target, before, 'a refused copy changes nothing')
})

/** n sample bytes from a seed. */
const bytesOf = (n: number, seed: number) => sampleBytes(seed, n)

test('xchachaSeal gives the XChaCha20-Poly1305 test vector of draft-irtf-cfrg-xchacha (A.3.1), and xchachaOpen opens it', (t) => {
  const plain = new TextEncoder().encode("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.")
  const ad = unhex('50515253c0c1c2c3c4c5c6c7')
  const key = Uint8Array.from({ length: 32 }, (_, i) => 0x80 + i)
  const nonce = Uint8Array.from({ length: 24 }, (_, i) => 0x40 + i)
  const sealed = new Uint8Array(plain.length + 16)
  native.xchachaSeal(sealed, plain, ad, nonce, key)
  const expected =
    'bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452' +
    '2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52e' + 'c0875924c1c7987947deafd8780acf49'
  t.is(Buffer.from(sealed).toString('hex'), expected)
  const opened = new Uint8Array(plain.length)
  t.true(native.xchachaOpen(opened, sealed, ad, nonce, key))
  t.deepEqual(opened, plain)
})

test('xchachaSeal and xchachaOpen agree with libsodium byte for byte at every size around the block and record edges, with and without AD, in plain and shared memory', (t) => {
  for (const size of [0, 1, 15, 16, 63, 64, 65, 255, 256, 4095, 4096, 65_537, 1024 * 1024 + 3]) {
    for (const adBytes of [0, 1, 33]) {
      const plain = bytesOf(size, size * 7 + adBytes)
      const ad = bytesOf(adBytes, 99 + adBytes)
      const key = bytesOf(32, size + 1)
      const nonce = bytesOf(24, size + 2)
      const bySodium = new Uint8Array(size + 16)
      libsodium.crypto_aead_xchacha20poly1305_ietf_encrypt(bySodium, plain, ad, null, nonce, key)
      const byNative = allocateShared(size + 16)
      native.xchachaSeal(byNative, plain, ad, nonce, key)
      t.deepEqual(new Uint8Array(byNative), bySodium, `sealed ${size} bytes, ${adBytes} of AD`)
      const opened = allocateShared(size)
      t.true(native.xchachaOpen(opened, bySodium, ad, nonce, key))
      t.deepEqual(new Uint8Array(opened), plain, `opened ${size} bytes, ${adBytes} of AD`)
    }
  }
  // In place: the output may be the input itself.
  const plain = bytesOf(100_000, 5)
  const key = bytesOf(32, 6)
  const nonce = bytesOf(24, 7)
  const work = new Uint8Array(plain.length + 16)
  work.set(plain)
  native.xchachaSeal(work, work.subarray(0, plain.length), new Uint8Array(0), nonce, key)
  t.deepEqual(work, sodium.aeadSeal(key, nonce, plain, new Uint8Array(0)))
  t.true(native.xchachaOpen(work.subarray(0, plain.length), work, new Uint8Array(0), nonce, key))
  t.deepEqual(work.subarray(0, plain.length), plain)
})

type AeadCall = (out: Uint8Array, input: Uint8Array, ad: Uint8Array, nonce: Uint8Array, key: Uint8Array) => unknown
type Tampered = [what: string, sealed: Uint8Array, ad: Uint8Array, nonce: Uint8Array, key: Uint8Array]

const flip = (bytes: Uint8Array, at: number) => {
  const copy = bytes.slice()
  copy[at] = (copy[at] as number) ^ 1
  return copy
}

/** 5000 bytes sealed with 20 bytes of AD under a nonce of nonceBytes (inputs drawn from `seed` on). */
function sealedSample(seal: AeadCall, nonceBytes: number, seed: number) {
  const plain = bytesOf(5000, seed)
  const ad = bytesOf(20, seed + 1)
  const key = bytesOf(32, seed + 2)
  const nonce = bytesOf(nonceBytes, seed + 3)
  const sealed = new Uint8Array(plain.length + 16)
  seal(sealed, plain, ad, nonce, key)
  return { plain, ad, key, nonce, sealed }
}

/** Each tampered input is refused and leaves its output zeroed; `after` runs after each refusal. */
function refusesEach(t: ExecutionContext, open: (...a: Parameters<AeadCall>) => boolean, plainBytes: number, cases: Tampered[], after?: (what: string, out: Uint8Array) => void) {
  for (const [what, s, a, n, k] of cases) {
    const out = new Uint8Array(plainBytes).fill(0xaa)
    t.false(open(out, s, a, n, k), what)
    t.true(out.every((b) => b === 0), `${what}: no unauthenticated plaintext is left behind`)
    after?.(what, out)
  }
}

test('xchachaOpen refuses a changed byte, tag, AD, nonce or key and leaves its output zeroed; wrong sizes are a TypeError', (t) => {
  const { plain, ad, key, nonce, sealed } = sealedSample((...a) => native.xchachaSeal(...a), 24, 11)
  refusesEach(t, (...a) => native.xchachaOpen(...a), plain.length, [
    ['ciphertext', flip(sealed, 0), ad, nonce, key],
    ['last ciphertext byte', flip(sealed, plain.length - 1), ad, nonce, key],
    ['tag', flip(sealed, plain.length + 15), ad, nonce, key],
    ['AD', sealed, flip(ad, 19), nonce, key],
    ['no AD', sealed, new Uint8Array(0), nonce, key],
    ['HChaCha20 half of the nonce', sealed, ad, flip(nonce, 3), key],
    ['ChaCha20 half of the nonce', sealed, ad, flip(nonce, 20), key],
    ['key', sealed, ad, nonce, flip(key, 31)],
  ])
  const out = new Uint8Array(plain.length)
  t.throws(() => native.xchachaOpen(out.subarray(1), sealed, ad, nonce, key), { instanceOf: TypeError })
  t.throws(() => native.xchachaOpen(new Uint8Array(0), new Uint8Array(15), ad, nonce, key), { instanceOf: TypeError })
  t.throws(() => native.xchachaOpen(out, sealed, ad, nonce.subarray(1), key), { instanceOf: TypeError })
  t.throws(() => native.xchachaSeal(new Uint8Array(plain.length + 15), plain, ad, nonce, key), { instanceOf: TypeError })
  t.throws(() => native.xchachaSeal(new Uint8Array(plain.length + 16), plain, ad, nonce, key.subarray(1)), { instanceOf: TypeError })
})

test('gcmOpen refuses a changed byte, tag, AD, nonce or key and leaves its output zeroed, also in a thread\'s next call with the same key; wrong sizes are a TypeError', (t) => {
  const { plain, ad, key, nonce, sealed } = sealedSample((...a) => native.gcmSeal(...a), 12, 21)
  const cases: Tampered[] = [
    ['ciphertext', flip(sealed, 0), ad, nonce, key],
    ['tag', flip(sealed, plain.length + 15), ad, nonce, key],
    ['AD', sealed, flip(ad, 19), nonce, key],
    ['nonce', sealed, ad, flip(nonce, 11), key],
    ['key', sealed, ad, nonce, flip(key, 31)],
  ]
  refusesEach(t, (...a) => native.gcmOpen(...a), plain.length, cases, (what, out) => {
    // The thread's context keeps no state from the failure: the genuine bytes open right after.
    t.true(native.gcmOpen(out, sealed, ad, nonce, key), `${what}: then the genuine bytes`)
    t.deepEqual(out, plain)
  })
  t.is(typeof native.gcmInHardware(), 'boolean')
  const out = new Uint8Array(plain.length)
  t.throws(() => native.gcmOpen(out.subarray(1), sealed, ad, nonce, key), { instanceOf: TypeError })
  t.throws(() => native.gcmOpen(out, sealed, ad, bytesOf(24, 25), key), { instanceOf: TypeError, message: /nonce: Uint8Array\(12\)/ })
  t.throws(() => native.gcmSeal(new Uint8Array(plain.length + 15), plain, ad, nonce, key), { instanceOf: TypeError })
  t.throws(() => native.gcmSeal(new Uint8Array(plain.length + 16), plain, ad, nonce, key.subarray(1)), { instanceOf: TypeError })
})

test('the Sodium adapter seals with the native AEAD exactly as with libsodium, and each opens what the other sealed', (t) => {
  const withLibsodium = new SodiumNativeCrypto({ useNative: false })
  const withNative = new SodiumNativeCrypto()
  for (const size of [0, 17, 70_000]) {
    const plain = bytesOf(size, 40 + size)
    const ad = bytesOf(9, 41)
    const key = bytesOf(32, 42)
    const nonce = bytesOf(24, 43)
    const sealed = withNative.aeadSeal(key, nonce, plain, ad)
    t.deepEqual(sealed, withLibsodium.aeadSeal(key, nonce, plain, ad))
    const into = new Uint8Array(size + 20)
    t.is(withNative.aeadSealInto(into, 4, key, nonce, plain, ad), size + 16)
    t.deepEqual(into.subarray(4), sealed)
    t.deepEqual(withLibsodium.aeadOpen(key, nonce, sealed, ad), plain)
    t.deepEqual(withNative.aeadOpen(key, nonce, sealed, ad), plain)
    const tampered = sealed.slice()
    tampered[0] = (tampered[0] as number) ^ 0x80
    t.is(withNative.aeadOpen(key, nonce, tampered, ad), null)
    t.is(withLibsodium.aeadOpen(key, nonce, tampered, ad), null)
  }
})

test('writeAll writes every byte, whole aligned blocks by direct I/O and the rest buffered, from plain and shared memory at any alignment', async (t) => {
  const dir = await tempDir(t)
  let files = 0
  for (const n of [0, 100, 4096, 3 * 4096 + 1, 5 * 1024 * 1024 + 7]) {
    const want = sampleBytes(n % 89, n)
    const shared = allocateShared(n)
    shared.set(want)
    const offset = allocateShared(n + 1)
    offset.set(want, 1)
    for (const [kind, bytes] of Object.entries({ plain: want.slice(), shared, unaligned: offset.subarray(1) })) {
      for (const direct of [true, false]) {
        const path = join(dir, `f${files++}`)
        const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (direct ? constants.O_DIRECT : 0), 0o600)
        let wentDirect: number
        try {
          wentDirect = await native.writeAll(fd, bytes)
        } finally {
          closeSync(fd)
        }
        t.is(wentDirect, direct ? n - (n % 4096) : 0, `${n} bytes, ${kind}, direct: ${direct}`)
        t.true(Buffer.from(want).equals(readFileSync(path)), `${n} bytes, ${kind}, direct: ${direct}`)
      }
    }
  }
})

test('writeAt writes pieces at any offset in any order, whole aligned blocks inside each through the direct descriptor and the rest buffered', async (t) => {
  const dir = await tempDir(t)
  const size = 3 * 1024 * 1024 + 5000
  const want = sampleBytes(61, size)
  // Cuts at unaligned offsets, written out of order, some from shared memory, one piece smaller than a block.
  const cuts = [0, 1, 4095, 4097, 70_000, 1_048_576, 1_049_000, 2_000_003, size]
  const pieces = cuts.slice(0, -1).map((at, i) => ({ at, end: cuts[i + 1] as number }))
  const order = [5, 0, 7, 2, 6, 1, 4, 3]
  const interior = (at: number, end: number) => Math.max(0, Math.floor(end / 4096) * 4096 - Math.ceil(at / 4096) * 4096)
  for (const direct of [true, false]) {
    const path = join(dir, `restored-${direct}`)
    const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600)
    const directFd = direct ? openSync(path, constants.O_WRONLY | constants.O_DIRECT) : -1
    try {
      for (const i of order) {
        const { at, end } = pieces[i] as { at: number; end: number }
        let bytes: Uint8Array = want.slice(at, end)
        if (i % 2 === 1) {
          const shared = allocateShared(end - at + 3).subarray(3)
          shared.set(bytes)
          bytes = shared
        }
        t.is(await native.writeAt(fd, directFd, at, bytes), direct ? interior(at, end) : 0, `piece ${i}, direct: ${direct}`)
      }
    } finally {
      closeSync(fd)
      if (directFd >= 0) closeSync(directFd)
    }
    t.true(Buffer.from(want).equals(readFileSync(path)), `direct: ${direct}`)
  }
  const ro = openSync(join(dir, 'read-only'), constants.O_RDONLY | constants.O_CREAT, 0o600)
  await t.throwsAsync(native.writeAt(ro, -1, 0, sampleBytes(1, 10)), { code: 'EBADF' })
  closeSync(ro)
  t.throws(() => native.writeAt(1, -2, 0, new Uint8Array(1)), { instanceOf: TypeError })
  t.throws(() => native.writeAt(1, -1, -5, new Uint8Array(1)), { instanceOf: TypeError })
  t.throws(() => native.writeAt(1, -1, 0, 'text' as unknown as Uint8Array), { instanceOf: TypeError })
})

test('readAt reads any range exactly, past the page cache through a direct descriptor, into plain or shared memory; short only at the end of the file', async (t) => {
  const dir = await tempDir(t)
  const size = 9 * 1024 * 1024 + 77 // more than a pool thread's 4 MiB bounce buffer
  const want = sampleBytes(62, size)
  const path = join(dir, 'object')
  writeFileSync(path, want)
  for (const direct of [true, false]) {
    const fd = openSync(path, constants.O_RDONLY | (direct ? constants.O_DIRECT : 0))
    try {
      for (const [offset, length] of [[0, size], [1, 10], [4095, 4098], [123_457, 5 * 1024 * 1024 + 3], [size - 5000, 5000], [4096 * 3, 4096]] as const) {
        for (const shared of [false, true]) {
          const into = shared ? allocateShared(length + 1).subarray(1) : new Uint8Array(length)
          t.is(await native.readAt(fd, offset, into), length, `${offset}+${length}, direct: ${direct}, shared: ${shared}`)
          t.true(Buffer.from(into).equals(want.subarray(offset, offset + length)), `${offset}+${length}, direct: ${direct}, shared: ${shared}`)
        }
      }
      const tail = new Uint8Array(10_000).fill(7)
      t.is(await native.readAt(fd, size - 100, tail), 100, 'the end of the file')
      t.true(Buffer.from(tail.subarray(0, 100)).equals(want.subarray(size - 100)))
      t.is(tail[100], 7, 'nothing written past what was read')
      t.is(await native.readAt(fd, size + 5000, new Uint8Array(10)), 0)
    } finally {
      closeSync(fd)
    }
  }
  const wo = openSync(join(dir, 'write-only'), constants.O_WRONLY | constants.O_CREAT, 0o600)
  await t.throwsAsync(native.readAt(wo, 0, new Uint8Array(10)), { code: 'EBADF' })
  closeSync(wo)
  t.throws(() => native.readAt(-1, 0, new Uint8Array(1)), { instanceOf: TypeError })
  t.throws(() => native.readAt(1, 0.5, new Uint8Array(1)), { instanceOf: TypeError })
  t.throws(() => native.readAt(1, 0, 'text' as unknown as Uint8Array), { instanceOf: TypeError })
})

test('readAt into memory lined up with the offset (equal modulo 4096) reads the whole blocks in place through a direct descriptor: exact, nothing written outside, the descriptor keeps O_DIRECT', async (t) => {
  const dir = await tempDir(t)
  const size = 6 * 1024 * 1024 + 1234 // ends inside a block
  const want = sampleBytes(63, size)
  const path = join(dir, 'object')
  writeFileSync(path, want)
  const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECT)
  try {
    const ranges = [[0, size], [0, 4096], [4096, 8192], [100, 50], [4000, 200], [4095, 4096 * 3 + 2], [123_457, 1_048_832], [size - 5000, 5000], [size - 1234, 1234], [8192 * 3 + 17, 5 * 1024 * 1024]] as const
    for (const [offset, length] of ranges) {
      for (const shared of [true, false]) {
        // A page-aligned start, then the view placed at offset % 4096 from it.
        const room = shared ? allocateShared(length + 3 * 4096) : new Uint8Array(length + 3 * 4096)
        const base = native.pageGap(room)
        const at = base + (offset % 4096)
        room.fill(0xa5)
        const into = room.subarray(at, at + length)
        t.is((4096 - native.pageGap(into)) % 4096, offset % 4096, 'the view is lined up')
        t.is(await native.readAt(fd, offset, into), length, `${offset}+${length}, shared: ${shared}`)
        t.true(Buffer.from(into).equals(want.subarray(offset, offset + length)), `${offset}+${length}, shared: ${shared}`)
        t.true(room.subarray(0, at).every((b) => b === 0xa5) && room.subarray(at + length).every((b) => b === 0xa5), `nothing written outside ${offset}+${length}`)
      }
    }
    const tail = allocateShared(3 * 4096)
    const at = native.pageGap(tail) + ((size - 100) % 4096)
    t.is(await native.readAt(fd, size - 100, tail.subarray(at, at + 4096)), 100, 'short only at the end of the file')
    t.true(Buffer.from(tail.subarray(at, at + 100)).equals(want.subarray(size - 100)))
    // A refused direct read (EINVAL) would have turned O_DIRECT off on the descriptor.
    t.true((descriptorFlags(fd) & constants.O_DIRECT) !== 0, 'every direct read was accepted')
  } finally {
    closeSync(fd)
  }
})

test('pageGap measures the distance to the next 4 KiB boundary; allocateAlignedShared gives page-aligned shared memory of exactly the size asked', (t) => {
  for (const n of [1, 4096, 24 * 1024 * 1024]) {
    const bytes = allocateAlignedShared(n)
    t.is(bytes.length, n)
    t.true(bytes.buffer instanceof SharedArrayBuffer)
    t.is(native.pageGap(bytes), 0, `${n} bytes`)
    if (n > 7) t.is(native.pageGap(bytes.subarray(7)), PAGE_BYTES - 7)
  }
  // Plain and shared buffers are not page-aligned by themselves here (allocator headers): the
  // gap is what the view must skip, and skipping it lands on a boundary.
  const plain = new Uint8Array(3 * PAGE_BYTES)
  const gap = native.pageGap(plain)
  t.true(gap >= 0 && gap < PAGE_BYTES)
  t.is(native.pageGap(plain.subarray(gap)), 0)
  t.throws(() => native.pageGap(42 as unknown as Uint8Array), { instanceOf: TypeError })
  t.throws(() => (native.pageGap as unknown as () => number)(), { instanceOf: TypeError })
})

test('writeAll rejects a bad file with its errno code and bad arguments with a TypeError', async (t) => {
  const dir = await tempDir(t)
  const fd = openSync(join(dir, 'read-only'), constants.O_RDONLY | constants.O_CREAT, 0o600)
  await t.throwsAsync(native.writeAll(fd, sampleBytes(1, 10)), { code: 'EBADF' })
  closeSync(fd)
  t.throws(() => native.writeAll(-1, new Uint8Array(1)), { instanceOf: TypeError })
  t.throws(() => native.writeAll(1, 'text' as unknown as Uint8Array), { instanceOf: TypeError })
})

/**
 * Whether `fd` still refers to the file with inode `ino`. A closed descriptor's number may be
 * taken at once by a test running alongside in this process, so "closed" means: not open, or open
 * on another file.
 */
function stillOpenOn(fd: number, ino: number): boolean {
  try {
    return fstatSync(fd).ino === ino
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EBADF') return false
    throw err
  }
}

/** A descriptor number that cannot be open (far above any open-files limit). */
const NEVER_OPEN_FD = 2_147_483_647

test('finishFile sets mode and times, closes the descriptor and renames; a failed step is named, and the descriptor is closed anyway', async (t) => {
  const dir = await tempDir(t)
  const from = join(dir, '.tmp-a')
  const fd = openSync(from, 'wx', 0o600)
  const ino = fstatSync(fd).ino
  writeFileSync(fd, 'restored')
  await native.finishFile(fd, 0o640, 1_600_000_000_123.456, from, join(dir, 'a'))
  t.false(stillOpenOn(fd, ino), 'closed')
  t.false(existsSync(from))
  const st = statSync(join(dir, 'a'), { bigint: true })
  t.is(Number(st.mode & 0o7777n), 0o640)
  t.is(st.mtimeNs, 1_600_000_000_123_456_000n)
  t.is(st.atimeNs, 1_600_000_000_123_456_000n)
  t.is(readFileSync(join(dir, 'a'), 'utf8'), 'restored')

  // The rename fails (a non-empty folder is in the way): the file stays under its temp name.
  mkdirSync(join(dir, 'b', 'inside'), { recursive: true })
  const from2 = join(dir, '.tmp-b')
  const fd2 = openSync(from2, 'wx', 0o600)
  const ino2 = fstatSync(fd2).ino
  await t.throwsAsync(native.finishFile(fd2, 0o644, 1_600_000_000_000, from2, join(dir, 'b')), { code: 'EISDIR', message: /^rename: / })
  t.false(stillOpenOn(fd2, ino2), 'closed even so')
  t.true(existsSync(from2))
  // A bad descriptor fails at the first step.
  await t.throwsAsync(native.finishFile(NEVER_OPEN_FD, 0o644, 0, from2, join(dir, 'c')), { code: 'EBADF', message: /^fchmod: / })
  t.throws(() => native.finishFile(-1, 0o644, 0, from2, join(dir, 'c')), { instanceOf: TypeError })
  t.throws(() => native.finishFile(3, 0o10000, 0, from2, join(dir, 'c')), { instanceOf: TypeError })
  t.throws(() => native.finishFile(3, 0o644, Number.NaN, from2, join(dir, 'c')), { instanceOf: TypeError })
  t.throws(() => native.finishFile(3, 0o644, 0, '', join(dir, 'c')), { instanceOf: TypeError })
})

test('writeFile makes a whole file (bytes, mode, times) under its final name in one step; a failure leaves nothing behind', async (t) => {
  const dir = await tempDir(t)
  const bytes = sampleBytes(7, 70_000)
  const plain = new Uint8Array(bytes)
  const written = native.writeFile(join(dir, '.tmp-a'), join(dir, 'a'), plain, 0o640, 1_600_000_000_123.456)
  // Plain bytes were copied when the call returned: changing them now changes nothing written.
  plain.fill(0)
  await written
  t.false(existsSync(join(dir, '.tmp-a')))
  const st = statSync(join(dir, 'a'), { bigint: true })
  t.is(Number(st.mode & 0o7777n), 0o640)
  t.is(st.mtimeNs, 1_600_000_000_123_456_000n)
  t.is(st.atimeNs, 1_600_000_000_123_456_000n)
  t.deepEqual(new Uint8Array(readFileSync(join(dir, 'a'))), bytes)
  // Empty files, and an existing file under the final name is replaced.
  await native.writeFile(join(dir, '.tmp-a2'), join(dir, 'a'), new Uint8Array(0), 0o600, 0)
  t.is(statSync(join(dir, 'a')).size, 0)

  // The rename fails (a non-empty folder is in the way): the temporary file is removed again.
  mkdirSync(join(dir, 'b', 'inside'), { recursive: true })
  await t.throwsAsync(native.writeFile(join(dir, '.tmp-b'), join(dir, 'b'), bytes, 0o644, 0), { code: 'EISDIR', message: /^rename: / })
  t.false(existsSync(join(dir, '.tmp-b')))
  // Something already under the temporary name (a file, or a symlink that is never followed) is left alone.
  writeFileSync(join(dir, '.tmp-c'), 'keep')
  await t.throwsAsync(native.writeFile(join(dir, '.tmp-c'), join(dir, 'c'), bytes, 0o644, 0), { code: 'EEXIST', message: /^open: / })
  t.is(readFileSync(join(dir, '.tmp-c'), 'utf8'), 'keep')
  symlinkSync(join(dir, 'elsewhere'), join(dir, '.tmp-d'))
  await t.throwsAsync(native.writeFile(join(dir, '.tmp-d'), join(dir, 'd'), bytes, 0o644, 0), { code: 'EEXIST' })
  t.false(existsSync(join(dir, 'elsewhere')))
  t.false(existsSync(join(dir, 'c')))
  t.throws(() => native.writeFile('', join(dir, 'e'), bytes, 0o644, 0), { instanceOf: TypeError })
  t.throws(() => native.writeFile(join(dir, '.tmp-e'), join(dir, 'e'), bytes, 0o10000, 0), { instanceOf: TypeError })
  t.throws(() => native.writeFile(join(dir, '.tmp-e'), join(dir, 'e'), bytes, 0o644, Number.POSITIVE_INFINITY), { instanceOf: TypeError })
  t.throws(() => native.writeFile(join(dir, '.tmp-e'), join(dir, 'e'), 'text' as unknown as Uint8Array, 0o644, 0), { instanceOf: TypeError })
  t.false(existsSync(join(dir, 'e')))
})

// Serial: it weighs this process's resident memory, so no other test may allocate meanwhile.
test.serial('trimMemory gives the C heap\'s free pages back: small buffers freed among live ones stop counting in the RSS', async (t) => {
  const { collectGarbage } = await import('../system/v8-heap-tuning.js')
  const rssKb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1])
  // 40,000 buffers of 6 KB, each its own malloc block (under the mmap threshold); one in ten stays,
  // so the freed ones are holes in the heap that free() alone does not give back.
  let all: Buffer[] | null = Array.from({ length: 40_000 }, () => Buffer.allocUnsafeSlow(6000).fill(1))
  const kept = all.filter((_, i) => i % 10 === 0)
  all = null
  collectGarbage()
  // V8 frees the collected buffers' memory on a background thread, soon after.
  await new Promise((r) => setTimeout(r, 300))
  collectGarbage()
  const before = rssKb()
  t.true(native.trimMemory())
  const after = rssKb()
  t.true(before - after > 100_000, `RSS ${before} kB → ${after} kB`)
  t.true(kept.every((b) => b.length === 6000 && b.every((x) => x === 1)), 'the live buffers are untouched')
})
