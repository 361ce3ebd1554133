/**
 * The composition root: the only file that imports adapters. Everything else receives ports.
 */
import { SodiumNativeCrypto } from '../adapters/sodium/sodium-native-crypto.js'
import { Argon2PasswordKdf } from '../adapters/argon2/argon2-password-kdf.js'
import { SqliteIndexStore } from '../adapters/sqlite/sqlite-index-store.js'
import { FsObjectStore } from '../adapters/fs/fs-object-store.js'
import { FsSource } from '../adapters/fs/fs-source.js'
import { SystemClock } from '../adapters/system/system-clock.js'
import { WorkerChunkSealer } from '../adapters/sodium/worker-chunk-sealer.js'
import { IngestService } from './ingest-service.js'

export function composeCrypto() {
  return { sodium: new SodiumNativeCrypto(), kdf: new Argon2PasswordKdf(), clock: new SystemClock() }
}

/** The owner ingest pipeline on real adapters, for the daemon and the ingest benchmark. */
export async function composeIngest(paths: { indexPath: string; spoolDir: string; sourceDir: string }) {
  const { sodium, clock } = composeCrypto()
  const index = new SqliteIndexStore(paths.indexPath)
  await index.open()
  const spool = new FsObjectStore(paths.spoolDir)
  await spool.open()
  const sealer = new WorkerChunkSealer()
  const ingest = new IngestService({ sodium, index, spool, clock, sealer })
  return {
    sodium,
    index,
    spool,
    ingest,
    source: new FsSource(paths.sourceDir),
    async close() {
      await sealer.close()
      await spool.close()
      await index.close()
    },
  }
}
