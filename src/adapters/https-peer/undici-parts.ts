import { createRequire } from 'node:module'
import type { Agent as UndiciAgent, buildConnector as undiciBuildConnector, Dispatcher } from 'undici'

/**
 * The three parts of undici 7 a peer client uses, loaded alone. undici's index loads every part
 * (fetch, WebSocket, caches, mocks, interceptors, proxies): measured alone, 4.8 MB of live heap
 * and 19 MB of RSS, against 1.8 MB and 11 MB for these. A node keeps a peer client for its whole
 * life, so this is memory every node saves; the heap's collection limit grows with the live heap,
 * so the saving counts again during a backup. undici publishes no exports map, so these paths
 * are reachable; the version is pinned in package.json and the protocol tests exercise them.
 */
const require = createRequire(import.meta.url)

export const Agent = require('undici/lib/dispatcher/agent.js') as typeof UndiciAgent
export type Agent = UndiciAgent
export const buildConnector = require('undici/lib/core/connect.js') as typeof undiciBuildConnector
export type ConnectorOptions = undiciBuildConnector.BuildOptions
const apiRequest = require('undici/lib/api/api-request.js') as (this: Dispatcher, opts: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>

/** undici's request(url, options) for a request through the given dispatcher. */
export function request(url: string, opts: Omit<Dispatcher.RequestOptions, 'origin' | 'path' | 'method'> & { method: Dispatcher.HttpMethod; dispatcher: Dispatcher }): Promise<Dispatcher.ResponseData> {
  const { dispatcher, ...rest } = opts
  const target = new URL(url)
  return apiRequest.call(dispatcher, { ...rest, origin: target.origin, path: `${target.pathname}${target.search}` })
}
