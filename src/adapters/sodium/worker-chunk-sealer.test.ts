import { chunkSealerContract } from '../../../test/contract/chunk-sealer.js'
import { WorkerChunkSealer } from './worker-chunk-sealer.js'
import { InlineChunkSealer } from '../../app/inline-chunk-sealer.js'
import { sodium } from '../../../test/helpers/index.js'

chunkSealerContract('WorkerChunkSealer', async (t) => {
  const s = new WorkerChunkSealer({ threads: 2 })
  t.teardown(() => s.close())
  return s
})
chunkSealerContract('InlineChunkSealer', async () => new InlineChunkSealer(sodium), { localFiles: false })
