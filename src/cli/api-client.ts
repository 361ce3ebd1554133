import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { BackupError, ERROR_CODES, type ErrorCode } from '../core/errors.js'
import { resolveDataDir } from '../app/config/load.js'

const notRunning = (dataDir: string) => new BackupError('CLOSED', `no node is running for ${dataDir}: start it with "quloud start --data ${dataDir}"`)

/**
 * The CLI's side of the local JSON API: the address and token come from api.json in the data
 * folder (written by the running node, mode 0600). Error bodies keep their codes, so the exit
 * status is the one exit-codes.ts gives the node's error.
 */
export class ApiClient {
  private constructor(
    private readonly url: string,
    private readonly token: string,
    readonly dataDir: string,
  ) {}

  static async open(data: string | undefined): Promise<ApiClient> {
    const dataDir = resolve(resolveDataDir({ dataDir: data }, process.env))
    let doc: { url?: unknown; token?: unknown }
    try {
      doc = JSON.parse(await readFile(resolve(dataDir, 'api.json'), 'utf8'))
    } catch {
      throw notRunning(dataDir)
    }
    if (typeof doc.url !== 'string' || typeof doc.token !== 'string') throw notRunning(dataDir)
    return new ApiClient(doc.url.replace(/\/$/, ''), doc.token, dataDir)
  }

  async call<T = Record<string, unknown>>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
    let res: Response | null = null
    // A GET is tried twice: a kept-alive connection the node closed just as it was reused fails
    // once without the node being gone (polling a job meets this now and then).
    for (let attempt = 1; !res; attempt++) {
      try {
        res = await fetch(`${this.url}/api/v1${path}`, {
          method,
          headers: { authorization: `Bearer ${this.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        })
      } catch {
        if (method !== 'GET' || attempt >= 2) throw notRunning(this.dataDir)
      }
    }
    const text = await res.text()
    let json: Record<string, unknown> = {}
    try {
      json = text ? JSON.parse(text) : {}
    } catch {
      throw new BackupError('PEER_REFUSED', `the node answered ${res.status} without JSON`)
    }
    if (!res.ok) {
      const e = json.error as { code?: string; message?: string } | undefined
      const code = (ERROR_CODES as readonly string[]).includes(e?.code ?? '') ? (e?.code as ErrorCode) : 'PEER_REFUSED'
      throw new BackupError(code, String(e?.message ?? `the node answered ${res.status}`).replace(/^[A-Z_]+: /, ''))
    }
    return json as T
  }
}
