/**
 * The records of a seal worker's `files` reply (seal-worker.ts), shared by the worker that writes
 * them and WorkerChunkSealer that reads them: RECORD_NUMBERS numbers each, the first its kind.
 */
export const RECORD_CHUNK = 0
export const RECORD_FILE_DONE = 1
export const RECORD_FILE_FAILED = 2
export const RECORD_NUMBERS = 5
