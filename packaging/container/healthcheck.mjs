// Generated from plugin/quloud.plugin.json by `npm run package`: edit the manifest, not this file.
// Docker HEALTHCHECK: exit 0 when the node answers /healthz with 200. It runs outside the
// entrypoint, so it derives the address the same way entrypoint.sh does.
import { get } from 'node:http'

const listen = process.env.QULOUD_WEB_LISTEN || `0.0.0.0:${process.env.TCP_PORT_30480 || 30480}`
const at = listen.lastIndexOf(':')
let host = listen.slice(0, at).replace(/^\[|\]$/g, '')
if (host === '0.0.0.0' || host === '::' || host === '') host = '127.0.0.1'
const req = get({ host, port: Number(listen.slice(at + 1)), path: '/healthz', timeout: 4000 }, (res) => {
  res.resume()
  process.exit(res.statusCode === 200 ? 0 : 1)
})
req.on('timeout', () => req.destroy(new Error('timeout')))
req.on('error', () => process.exit(1))
