import type { Alert, AlertSink } from '../../core/ports/alert-sink.js'
import { BackupError } from '../../core/errors.js'

/**
 * AlertSink that POSTs each alert as JSON to a webhook (http or https; for chat services that
 * take { "text" }, the message is there too). Any 2xx is success. The URL may hold a secret
 * token, so errors name only the receiver's status, never the address.
 */
export class WebhookAlertSink implements AlertSink {
  constructor(private readonly url: string, private readonly timeoutMs = 10_000) {}

  async send(alert: Alert): Promise<void> {
    let status: number
    try {
      // Loaded at the first alert: most nodes never send one, and undici whole is megabytes of memory.
      const { request } = await import('undici')
      const res = await request(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'quloud-alerts/1' },
        body: JSON.stringify({ ...alert, text: `Quloud: ${alert.message}` }),
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      })
      status = res.statusCode
      await res.body.dump()
    } catch (err) {
      throw new BackupError('PEER_UNREACHABLE', `the alert webhook could not be reached (${err instanceof Error ? err.name : 'error'})`, { retryable: true })
    }
    if (status < 200 || status >= 300) throw new BackupError('PEER_REFUSED', `the alert webhook answered HTTP ${status}`)
  }
}
