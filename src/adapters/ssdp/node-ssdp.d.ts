// The part of node-ssdp 4 (CommonJS, untyped) that the SSDP adapter uses.
declare module 'node-ssdp' {
  interface SsdpOptions {
    location?: string | { protocol?: string; port: number; path: string }
    udn?: string
    adInterval?: number
    ttl?: number
    ssdpTtl?: number
    interfaces?: string[]
    explicitSocketBind?: boolean
    reuseAddr?: boolean
    sourcePort?: number
    suppressRootDeviceAdvertisements?: boolean
    customLogger?: (...args: unknown[]) => void
  }
  type Headers = Record<string, string | undefined>
  interface RemoteInfo { address: string; port: number }
  export interface Server {
    addUSN(usn: string): void
    start(): Promise<void>
    stop(): void
    on(event: 'advertise-alive' | 'advertise-bye', fn: (headers: Headers, rinfo: RemoteInfo) => void): this
  }
  export interface Client {
    search(serviceType: string): unknown
    stop(): void
    on(event: 'response', fn: (headers: Headers, statusCode: number, rinfo: RemoteInfo) => void): this
  }
  const ssdp: { Server: new (opts?: SsdpOptions) => Server; Client: new (opts?: SsdpOptions) => Client }
  export default ssdp
}
