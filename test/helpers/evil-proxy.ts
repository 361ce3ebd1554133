import { createServer, request } from 'node:https'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import type { ExecutionContext } from 'ava'

export type Misbehaviour = 'late' | 'wrong'

/**
 * A storage node that cheats at audits: a real HTTPS server in front of a real node, serving that
 * node's own certificate (so it is the same node to its clients), forwarding every request, but
 * answering POST /v1/audit too late or with one byte of a leaf changed, once `armed` is set.
 */
export async function misbehavingNode(t: ExecutionContext, target: { data: string; peerPort: number }, how: Misbehaviour, lateMs = 6000) {
  const tls = JSON.parse(readFileSync(join(target.data, 'peer-tls.json'), 'utf8')) as { certPem: string; keyPem: string }
  const state = { armed: false, audits: 0 }
  const server = createServer({ cert: tls.certPem, key: tls.keyPem, minVersion: 'TLSv1.3' }, (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const headers = { ...req.headers, host: `127.0.0.1:${target.peerPort}` }
      const up = request({ host: '127.0.0.1', port: target.peerPort, method: req.method, path: req.url, headers, rejectUnauthorized: false }, (upRes) => {
        const parts: Buffer[] = []
        upRes.on('data', (c: Buffer) => parts.push(c))
        upRes.on('end', () => {
          let out = Buffer.concat(parts)
          const audit = req.method === 'POST' && req.url === '/v1/audit' && upRes.statusCode === 200 && state.armed
          if (audit) state.audits++
          if (audit && how === 'wrong') {
            const doc = JSON.parse(out.toString('utf8'))
            const leaf = Buffer.from(doc.answers[0].proofs[0].leaf, 'base64')
            leaf[0] = (leaf[0] as number) ^ 1
            doc.answers[0].proofs[0].leaf = leaf.toString('base64')
            out = Buffer.from(JSON.stringify(doc))
          }
          const send = () => {
            if (res.destroyed) return
            const h = { ...upRes.headers, 'content-length': String(out.length) }
            res.writeHead(upRes.statusCode ?? 502, h)
            res.end(out)
          }
          if (audit && how === 'late') setTimeout(send, lateMs).unref()
          else send()
        })
      })
      up.on('error', () => {
        res.writeHead(502)
        res.end()
      })
      up.end(body)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  t.teardown(() => new Promise<void>((r) => {
    server.closeAllConnections()
    server.close(() => r())
  }))
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, state }
}
