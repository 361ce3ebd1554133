import { storageCatalogContract } from '../../../test/contract/storage-catalog.js'
import { MemoryStorageCatalog } from './memory-storage-catalog.js'
import { objectStoreContract } from '../../../test/contract/object-store.js'
import { indexStoreContract } from '../../../test/contract/index-store.js'
import { MemoryObjectStore } from './memory-object-store.js'
import { MemoryIndexStore } from './memory-index-store.js'

objectStoreContract('MemoryObjectStore', async () => new MemoryObjectStore())
indexStoreContract('MemoryIndexStore', async () => new MemoryIndexStore())
storageCatalogContract('MemoryStorageCatalog', async () => new MemoryStorageCatalog())
