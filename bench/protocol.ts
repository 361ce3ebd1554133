/**
 * npm run bench:protocol — store and fetch throughput of 16 MiB objects between this process (the
 * owner) and a `quloud start` storage node process, over loopback HTTPS with the node's own
 * encryption layer and fsync, against writing (and fsyncing) the same bytes to disk and reading
 * them back in the same run. Last stdout line is JSON:
 *   store_mb_s, fetch_mb_s        protocol throughput (fetch includes no proof time)
 *   disk_write_mb_s               the baseline: copying the same bytes to a file, with fsync
 *   disk_read_mb_s                for reference: reading them back (from the page cache)
 *   store_ratio, fetch_ratio      protocol throughput / disk_write_mb_s
 *   fetch_grant_ms                one proof for the whole batch (B objects) plus its verification
 * Env: QULOUD_BENCH_OBJECTS (default 16, at most 16) scales the batch.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, openSync, writeSync, fsyncSync, closeSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { composePeerClient } from '../src/app/compose.js'
import { SnarkjsProver } from '../src/adapters/snarkjs/snarkjs-prover.js'
import { terminateSnarkjs } from '../src/adapters/snarkjs/snarkjs-verifier.js'
import { CircomlibPoseidon } from '../src/adapters/snarkjs/circomlib-poseidon.js'
import { SodiumNativeCrypto } from '../src/adapters/sodium/sodium-native-crypto.js'
import { identityFromSeed } from '../src/core/identity.js'
import { fieldElementFromWideBytes } from '../src/core/crypto/index.js'
import { commitmentOf, idToField, nonceToField, ownershipInput, OWNERSHIP_BATCH } from '../src/core/proofs/index.js'
import { merkleRoot } from '../src/core/audit/index.js'
import { asPackId } from '../src/core/ids.js'
import { ownerSetup } from '../test/helpers/zk.js'

const MIB = 1024 * 1024
const OBJECT_BYTES = 16 * MIB
const count = Math.min(OWNERSHIP_BATCH, Number(process.env.QULOUD_BENCH_OBJECTS ?? 16))
const log = (msg: string) => console.error(`[bench:protocol] ${msg}`)
const root = mkdtempSync(join(tmpdir(), 'quloud-bench-protocol-'))
const sodium = new SodiumNativeCrypto()

async function startNode(dataDir: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const bin = new URL('../bin/quloud', import.meta.url).pathname
  const child = spawn(process.execPath, [bin, 'start', '--data', dataDir, '--web-listen', '127.0.0.1:0', '--peer-listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  const deadline = Date.now() + 60_000
  while (!/Press Ctrl-C/.test(out)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the storage node did not start:\n${out}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  const url = /peer protocol: +(https:\/\/\S+) /.exec(out)?.[1] as string
  return { url, stop: () => new Promise<void>((resolve) => (child.kill('SIGTERM'), child.once('close', () => resolve()))) }
}

function diskBaseline(objects: Uint8Array[]): { writeS: number; readS: number } {
  const t0 = performance.now()
  objects.forEach((bytes, i) => {
    const fd = openSync(join(root, `copy-${i}`), 'w')
    writeSync(fd, bytes)
    fsyncSync(fd)
    closeSync(fd)
  })
  const writeS = (performance.now() - t0) / 1000
  const t1 = performance.now()
  objects.forEach((_, i) => readFileSync(join(root, `copy-${i}`)))
  return { writeS, readS: (performance.now() - t1) / 1000 }
}

try {
  log('owner proof keys (cached per machine; a first run makes them, minutes)')
  const [setup, poseidon] = await Promise.all([ownerSetup('a'), CircomlibPoseidon.create()])
  const prover = new SnarkjsProver(setup.provingKey)
  const vkBytes = new TextEncoder().encode(JSON.stringify(setup.verificationKey))
  const owner = identityFromSeed(sodium, sodium.randomBytes(32))
  const proofKey = fieldElementFromWideBytes(sodium.randomBytes(64))
  log(`${count} objects of 16 MiB`)
  const objects = Array.from({ length: count }, () => {
    const bytes = sodium.randomBytes(OBJECT_BYTES)
    const objectId = asPackId(sodium.randomBytes(32))
    return { objectId, bytes, commitment: commitmentOf(poseidon, proofKey, idToField(objectId)).toString(), merkleRoot: merkleRoot(sodium, bytes), ownerNodeId: owner.nodeId, ownerKeySha256: sodium.sha256(vkBytes) }
  })
  const disk = diskBaseline(objects.map((o) => o.bytes))
  const node = await startNode(join(root, 'node'))
  const client = composePeerClient(node.url, owner)
  try {
    await client.putOwnerKey(vkBytes)
    const t0 = performance.now()
    for (const o of objects) await client.store(o)
    const storeS = (performance.now() - t0) / 1000
    const nodeId = (await client.announcement()).nodeId
    const t1 = performance.now()
    const nonce = await client.nonce()
    const items = objects.map((o) => ({ objectId: idToField(o.objectId), commitment: BigInt(o.commitment) }))
    const { proof } = await prover.prove(ownershipInput(proofKey, items, { nonce: nonceToField(nonce), nodeId: idToField(nodeId), action: 'fetch' }))
    const { ticket } = await client.grantFetch({ nonce, objectIds: objects.map((o) => o.objectId), proof })
    const grantMs = performance.now() - t1
    const t2 = performance.now()
    for (const o of objects) {
      const back = await client.fetch(o.objectId, ticket)
      if (back.length !== o.bytes.length) throw new Error('a fetched object has the wrong length')
    }
    const fetchS = (performance.now() - t2) / 1000
    const mb = (count * OBJECT_BYTES) / MIB
    const out = {
      objects: count,
      object_mb: 16,
      store_mb_s: Number((mb / storeS).toFixed(1)),
      fetch_mb_s: Number((mb / fetchS).toFixed(1)),
      disk_write_mb_s: Number((mb / disk.writeS).toFixed(1)),
      disk_read_mb_s: Number((mb / disk.readS).toFixed(1)),
      store_ratio: Number((disk.writeS / storeS).toFixed(2)),
      fetch_ratio: Number((disk.writeS / fetchS).toFixed(2)),
      fetch_grant_ms: Number(grantMs.toFixed(0)),
    }
    console.log(JSON.stringify(out))
  } finally {
    await client.close()
    await node.stop()
    await prover.close()
    await terminateSnarkjs()
  }
} finally {
  rmSync(root, { recursive: true, force: true })
}
