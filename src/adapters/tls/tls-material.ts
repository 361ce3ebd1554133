import { createHash, X509Certificate } from 'node:crypto'
import { inputInvalid } from '../../core/errors.js'

// Reading stored TLS material needs only node:crypto; making a certificate (self-signed-cert.ts)
// needs @peculiar/x509, which a node loads only when it has no certificate yet.

export interface TlsMaterial {
  certPem: string
  keyPem: string
  /** SHA-256 of the certificate's DER: what announcements carry and clients pin. */
  sha256: Uint8Array
  notAfterMs: number
}

/** Reads back stored PEMs: the fingerprint and expiry come from the certificate itself. */
export function describeTls(certPem: string, keyPem: string): TlsMaterial {
  let cert: X509Certificate
  try {
    cert = new X509Certificate(certPem)
  } catch {
    throw inputInvalid('the stored TLS certificate is not a PEM certificate')
  }
  return { certPem, keyPem, sha256: new Uint8Array(createHash('sha256').update(cert.raw).digest()), notAfterMs: Date.parse(cert.validTo) }
}
