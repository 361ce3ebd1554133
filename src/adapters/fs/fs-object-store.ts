import { constants } from 'node:fs'
import { mkdir, open, readdir, rm, stat, readFile, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { checkRange, READ_SLACK_BYTES, type ObjectReader, type ObjectStore, type PutOptions } from '../../core/ports/object-store.js'
import { asPackId, type PackId } from '../../core/ids.js'
import { closed, inputInvalid, ioFailed, objectMissing } from '../../core/errors.js'
import { fromHex, shortHex, toHex } from '../../shared/bytes.js'
import { Resource } from '../../shared/resource.js'
import { fsyncDir, isNotFound, openDirect, writeFileAtomic, type DirectWrite } from './fs-util.js'

/** Objects at least this big are written past the page cache when a direct writer is given. */
export const DIRECT_WRITE_MIN_BYTES = 1 << 20

/** The alignment of direct I/O (READ_SLACK_BYTES leaves room for it). */
const PAGE_BYTES = 4096

/** Ranges at least this long are read past the page cache when a direct reader is given. */
export const DIRECT_READ_MIN_BYTES = 64 * 1024

/**
 * Reads bytes [offset, offset + into.length) of an open file into `into`, past the page cache
 * when the descriptor has O_DIRECT; resolves with the bytes read. The native ingest module's readAt.
 */
export type DirectRead = (fd: number, offset: number, into: Uint8Array) => Promise<number>

export interface FsObjectStoreOptions {
  /**
   * Writes large objects with O_DIRECT (see writeFileAtomic): a pack is written once and read
   * again only when uploaded, audited or restored, so caching it would only push the NAS's own
   * files out of memory.
   */
  directWrite?: DirectWrite
  /**
   * Reads large ranges with O_DIRECT: a storage node serves each stored byte seldom (a restore,
   * an audit), so caching what it read would only push the NAS's own files out of memory, and
   * reading cold pages through the cache costs the kernel more than the disk does.
   */
  directRead?: DirectRead
  /**
   * Bytes from a view's first byte to the next 4 KiB boundary of memory (the native ingest
   * module's pageGap): with it, a reader's read() given READ_SLACK_BYTES of room places the bytes
   * where memory and file line up, and O_DIRECT reads them in place instead of through a copy.
   */
  pageGap?: (bytes: Uint8Array) => number
}

/**
 * Objects as files: <root>/<first two hex digits>/<64 hex digits>. 256 shard folders keep any one
 * folder small. Writes go to <root>/tmp/<random>, are fsynced, renamed into place and the
 * shard folder is fsynced, so after a crash an object is either complete or absent.
 */
export class FsObjectStore extends Resource implements ObjectStore {
  readonly #root: string
  readonly #direct: DirectWrite | undefined
  readonly #directRead: DirectRead | undefined
  readonly #pageGap: ((bytes: Uint8Array) => number) | undefined

  constructor(root: string, opts: FsObjectStoreOptions = {}) {
    super()
    this.#root = root
    this.#direct = opts.directWrite
    this.#directRead = opts.directRead
    this.#pageGap = opts.pageGap
  }

  protected async onOpen(): Promise<void> {
    await mkdir(join(this.#root, 'tmp'), { recursive: true, mode: 0o700 })
    // Leftovers of writes interrupted by a crash are garbage: the rename never happened.
    await rm(join(this.#root, 'tmp'), { recursive: true, force: true })
    await mkdir(join(this.#root, 'tmp'), { recursive: true, mode: 0o700 })
  }

  protected async onClose(): Promise<void> {}

  #path(id: PackId): string {
    const hex = toHex(id)
    return join(this.#root, hex.slice(0, 2), hex)
  }

  async put(id: PackId, bytes: Uint8Array, opts: PutOptions = {}): Promise<void> {
    await this.open()
    if (await this.has(id)) {
      opts.onWritten?.()
      return
    }
    try {
      const direct = this.#direct && bytes.length >= DIRECT_WRITE_MIN_BYTES ? { direct: this.#direct } : {}
      await writeFileAtomic(this.#path(id), bytes, { mode: 0o600, tmpDir: join(this.#root, 'tmp'), ...direct, ...(opts.onWritten ? { onWritten: opts.onWritten } : {}) })
    } catch (err) {
      throw ioFailed(`writing object ${shortHex(id)}`, err)
    }
  }

  async get(id: PackId): Promise<Uint8Array> {
    await this.open()
    try {
      const b = await readFile(this.#path(id))
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
    } catch (err) {
      if (isNotFound(err)) throw objectMissing(shortHex(id))
      throw ioFailed(`reading object ${shortHex(id)}`, err)
    }
  }

  async getRange(id: PackId, offset: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
    await this.open()
    checkRange(offset, length, into)
    const directRead = length >= DIRECT_READ_MIN_BYTES ? this.#directRead : undefined
    const fh = await this.#openFile(id, directRead !== undefined)
    try {
      const { size } = await fh.stat()
      return await readRange(fh, directRead, id, size, offset, length, into)
    } finally {
      await fh.close()
    }
  }

  /**
   * One descriptor for all the reads of a range served piece by piece (with a direct reader: by
   * O_DIRECT, small reads too), instead of an open, a stat and a close around each read.
   */
  async openReader(id: PackId): Promise<ObjectReader> {
    await this.open()
    const directRead = this.#directRead
    const pageGap = directRead ? this.#pageGap : undefined
    const fh = await this.#openFile(id, directRead !== undefined)
    let size: number
    try {
      size = (await fh.stat()).size
    } catch (err) {
      await fh.close().catch(() => {})
      throw ioFailed(`reading object ${shortHex(id)}`, err)
    }
    let open = true
    return {
      sizeBytes: size,
      read: async (offset, length, into) => {
        if (!open) throw closed(`the reader of object ${shortHex(id)}`)
        checkRange(offset, length, into)
        // With room to spare, the bytes go where memory and file offset are equal modulo a page.
        const at = pageGap && into && into.length >= length + READ_SLACK_BYTES ? (offset + pageGap(into)) % PAGE_BYTES : 0
        return readRange(fh, directRead, id, size, offset, length, at === 0 ? into : into?.subarray(at))
      },
      close: async () => {
        if (!open) return
        open = false
        await fh.close()
      },
    }
  }

  /** Opens an object for reading, with O_DIRECT when `direct` and the file system allows it. */
  async #openFile(id: PackId, direct: boolean): Promise<FileHandle> {
    try {
      // Where the file system refuses O_DIRECT, readAt reads the same bytes through the page cache.
      return (direct ? await openDirect(this.#path(id), constants.O_RDONLY) : null) ?? (await open(this.#path(id), 'r'))
    } catch (err) {
      if (isNotFound(err)) throw objectMissing(shortHex(id))
      throw ioFailed(`reading object ${shortHex(id)}`, err)
    }
  }

  async size(id: PackId): Promise<number> {
    await this.open()
    try {
      return (await stat(this.#path(id))).size
    } catch (err) {
      if (isNotFound(err)) throw objectMissing(shortHex(id))
      throw ioFailed(`reading object ${shortHex(id)}`, err)
    }
  }

  async has(id: PackId): Promise<boolean> {
    await this.open()
    try {
      await stat(this.#path(id))
      return true
    } catch (err) {
      if (isNotFound(err)) return false
      throw ioFailed(`reading object ${shortHex(id)}`, err)
    }
  }

  async delete(id: PackId): Promise<void> {
    await this.open()
    const hex = toHex(id)
    await rm(this.#path(id), { force: true })
    await fsyncDir(join(this.#root, hex.slice(0, 2))).catch(() => {})
  }

  async *list(): AsyncIterable<PackId> {
    await this.open()
    for (const shard of await readdir(this.#root)) {
      if (!/^[0-9a-f]{2}$/.test(shard)) continue
      for (const name of await readdir(join(this.#root, shard))) {
        const bytes = /^[0-9a-f]{64}$/.test(name) && name.startsWith(shard) ? fromHex(name) : null
        if (bytes) yield asPackId(bytes)
      }
    }
  }
}

/** Bytes [offset, offset + length) of an open object of `size` bytes, into `into` when given. */
async function readRange(fh: FileHandle, directRead: DirectRead | undefined, id: PackId, size: number, offset: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
  if (offset + length > size) throw inputInvalid(`range ${offset}+${length} ends past object ${shortHex(id)} (${size} bytes)`)
  const out = into ? into.subarray(0, length) : new Uint8Array(length)
  if (directRead) {
    if ((await directRead(fh.fd, offset, out)) !== length) throw ioFailed(`reading object ${shortHex(id)}`, new Error('short read'))
    return out
  }
  let done = 0
  while (done < length) {
    const { bytesRead } = await fh.read(out, done, length - done, offset + done)
    if (bytesRead === 0) throw ioFailed(`reading object ${shortHex(id)}`, new Error('short read'))
    done += bytesRead
  }
  return out
}
