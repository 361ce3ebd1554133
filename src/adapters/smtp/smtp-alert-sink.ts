import nodemailer from 'nodemailer'
import type { Alert, AlertSink } from '../../core/ports/alert-sink.js'
import { BackupError } from '../../core/errors.js'

/**
 * AlertSink that sends each alert as a plain-text email over SMTP (nodemailer): smtp:// upgrades
 * with STARTTLS when the server offers it, smtps:// is TLS from the start; credentials come in the
 * URL and never appear in errors.
 */
export class SmtpAlertSink implements AlertSink {
  readonly #transport: ReturnType<typeof nodemailer.createTransport>

  constructor(smtpUrl: string, private readonly from: string, private readonly to: string, timeoutMs = 15_000) {
    this.#transport = nodemailer.createTransport({ url: smtpUrl, connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs })
  }

  async send(alert: Alert): Promise<void> {
    const lines = [alert.message + '.', '', `Node: ${alert.nodeId}`, `Time: ${new Date(alert.atMs).toISOString()}`, ...(alert.share ? [`Share: ${alert.share}`] : []), ...Object.entries(alert.details ?? {}).map(([k, v]) => `${k}: ${v}`)]
    try {
      await this.#transport.sendMail({ from: this.from, to: this.to, subject: `Quloud: ${alert.message}`, text: lines.join('\n') + '\n' })
    } catch (err) {
      const code = (err as { responseCode?: number; code?: string }).responseCode ?? (err as { code?: string }).code ?? 'error'
      throw new BackupError('PEER_REFUSED', `the alert email could not be sent (${String(code).slice(0, 20)})`, { retryable: true })
    }
  }
}
