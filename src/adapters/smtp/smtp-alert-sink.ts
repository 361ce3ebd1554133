import type { Transporter } from 'nodemailer'
import type { Alert, AlertSink } from '../../core/ports/alert-sink.js'
import { BackupError } from '../../core/errors.js'

/**
 * AlertSink that sends each alert as a plain-text email over SMTP (nodemailer): smtp:// upgrades
 * with STARTTLS when the server offers it, smtps:// is TLS from the start; credentials come in the
 * URL and never appear in errors. nodemailer is loaded at the first alert, not as the node starts
 * (about 15 MB of memory for something most nodes rarely use).
 */
export class SmtpAlertSink implements AlertSink {
  #transport: Promise<Transporter> | null = null

  constructor(private readonly smtpUrl: string, private readonly from: string, private readonly to: string, private readonly timeoutMs = 15_000) {}

  #transporter(): Promise<Transporter> {
    const { smtpUrl: url, timeoutMs } = this
    return (this.#transport ??= import('nodemailer').then((m) => m.default.createTransport({ url, connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs })))
  }

  async send(alert: Alert): Promise<void> {
    const lines = [alert.message + '.', '', `Node: ${alert.nodeId}`, `Time: ${new Date(alert.atMs).toISOString()}`, ...(alert.share ? [`Share: ${alert.share}`] : []), ...Object.entries(alert.details ?? {}).map(([k, v]) => `${k}: ${v}`)]
    try {
      await (await this.#transporter()).sendMail({ from: this.from, to: this.to, subject: `Quloud: ${alert.message}`, text: lines.join('\n') + '\n' })
    } catch (err) {
      const code = (err as { responseCode?: number; code?: string }).responseCode ?? (err as { code?: string }).code ?? 'error'
      throw new BackupError('PEER_REFUSED', `the alert email could not be sent (${String(code).slice(0, 20)})`, { retryable: true })
    }
  }
}
