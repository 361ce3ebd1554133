import { invariant } from '../../core/errors.js'
import type { IndexStore, ShareRecord } from '../../core/ports/index-store.js'
import type { SourceFs } from '../../core/ports/source-fs.js'
import type { Clock } from '../../core/ports/clock.js'
import type { HeapTuning } from '../../core/ports/heap-tuning.js'
import type { ShareKeys } from '../../core/crypto/index.js'
import type { IngestService, IngestStats } from '../ingest-service.js'
import type { OwnerKeys } from './owner-keys.js'
import type { Publisher, PublishResult } from './publisher.js'
import type { ReplicationProgress } from './replicator.js'
import { UploadWhileReading } from './upload-while-reading.js'

export type BackupPhase = 'reading' | 'uploading' | 'publishing'

export interface BackupProgress extends Partial<IngestStats>, Partial<ReplicationProgress> {
  phase: BackupPhase
}

export interface BackupOutcome {
  snapshot: number
  result: 'complete' | 'degraded'
  stats: IngestStats
  publish: PublishResult
}

/**
 * One backup of one share: a snapshot (files, then manifests) into the spool, recorded in the
 * index, then replication and publication. The share is marked pending first and cleared last,
 * so a crash anywhere means the node runs it again at its next start: files already recorded are
 * not read again and packs with receipts are not sent again.
 */
export class BackupService {
  constructor(private readonly deps: { index: IndexStore; ingest: IngestService; publisher: Publisher; clock: Clock; sourceFor: (path: string) => SourceFs; heap?: HeapTuning }) {}

  async run(share: ShareRecord, keys: ShareKeys, owner: OwnerKeys, onProgress: (p: BackupProgress) => void = () => {}): Promise<BackupOutcome> {
    invariant(share.path !== null, 'an imported share has no folder to back up')
    const ended = this.deps.heap?.duringBackup()
    try {
      return await this.#run(share, share.path, keys, owner, onProgress)
    } finally {
      ended?.()
    }
  }

  async #run(share: ShareRecord, path: string, keys: ShareKeys, owner: OwnerKeys, onProgress: (p: BackupProgress) => void): Promise<BackupOutcome> {
    const { index, ingest, publisher, clock } = this.deps
    index.updateShare(share.shareId, { pendingBackup: true })
    // Packs are uploaded while the files are still being read: a pass starts whenever a pack
    // is committed and the last pass is over. Failures here are left to the final pass below.
    const upload = new UploadWhileReading(() => publisher.upload(share, keys, owner))
    let read
    try {
      read = await ingest.snapshot(share.shareId, keys, this.deps.sourceFor(path), { onProgress: (s) => onProgress({ phase: 'reading', ...s }), onPackCommitted: () => upload.wake() })
    } finally {
      await upload.stop()
    }
    const { stats, content } = read
    const last = index.listSnapshots(share.shareId).at(-1)?.summary.seq ?? 0
    const seq = last + 1
    index.putSnapshot({ shareId: share.shareId, summary: { seq, createdAtMs: clock.nowMs(), ...content } })
    const publish = await publisher.publish(index.getShare(share.name) ?? share, keys, owner, (p) => onProgress({ phase: 'uploading', ...p }))
    const result = publish.complete ? 'complete' : 'degraded'
    index.updateShare(share.shareId, { pendingBackup: false, lastBackupMs: clock.nowMs(), lastResult: result })
    return { snapshot: seq, result, stats, publish }
  }
}
