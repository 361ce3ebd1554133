import 'reflect-metadata'
import * as x509 from '@peculiar/x509'
import { webcrypto } from 'node:crypto'
import { describeTls, type TlsMaterial } from './tls-material.js'

export { describeTls, type TlsMaterial } from './tls-material.js'

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0])

const pem = (label: string, der: ArrayBuffer) => `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END ${label}-----\n`

/**
 * A fresh self-signed Ed25519 certificate for the node's peer port. Its key is unrelated to the
 * node's identity key; the identity vouches for it by signing the announcement that carries its
 * fingerprint, so no certificate authority is involved (docs/PROTOCOL.md §1).
 */
export async function makeSelfSignedCert({ commonName = 'quloud-node', validDays = 365, nowMs = Date.now() } = {}): Promise<TlsMaterial> {
  const keys = (await webcrypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1'),
    name: `CN=${commonName}`,
    notBefore: new Date(nowMs - 3600_000),
    notAfter: new Date(nowMs + validDays * 86400_000),
    signingAlgorithm: { name: 'Ed25519' },
    keys: keys as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'],
    extensions: [new x509.BasicConstraintsExtension(false, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)],
  })
  const keyPem = pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey))
  return describeTls(cert.toString('pem'), keyPem)
}
