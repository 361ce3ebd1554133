import test, { type ExecutionContext } from 'ava'
import { createServer, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { SmtpAlertSink } from './smtp-alert-sink.js'

/** A small real SMTP server on 127.0.0.1 (EHLO, AUTH PLAIN, MAIL, RCPT, DATA, QUIT) that records each message. */
async function smtpServer(t: ExecutionContext, opts: { rejectRcpt?: boolean } = {}) {
  const mails: Array<{ auth: string | null; from: string; to: string[]; data: string }> = []
  const server = createServer((socket: Socket) => {
    let buf = ''
    let inData = false
    let mail = { auth: null as string | null, from: '', to: [] as string[], data: '' }
    const say = (line: string) => socket.write(line + '\r\n')
    say('220 localhost ESMTP test')
    socket.on('data', (d) => {
      buf += d.toString('utf8')
      for (;;) {
        if (inData) {
          const end = buf.indexOf('\r\n.\r\n')
          if (end < 0) return
          mail.data = buf.slice(0, end)
          buf = buf.slice(end + 5)
          inData = false
          mails.push(mail)
          mail = { auth: mail.auth, from: '', to: [], data: '' }
          say('250 2.0.0 queued')
          continue
        }
        const nl = buf.indexOf('\r\n')
        if (nl < 0) return
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + 2)
        const cmd = line.slice(0, 4).toUpperCase()
        if (cmd === 'EHLO') socket.write('250-localhost\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n')
        else if (cmd === 'HELO') say('250 localhost')
        else if (cmd === 'AUTH') {
          mail.auth = Buffer.from(line.split(' ')[2] ?? '', 'base64').toString('utf8')
          say('235 2.7.0 ok')
        } else if (cmd === 'MAIL') {
          mail.from = line
          say('250 ok')
        } else if (cmd === 'RCPT') {
          if (opts.rejectRcpt) say('550 5.1.1 no such user')
          else {
            mail.to.push(line)
            say('250 ok')
          }
        } else if (cmd === 'DATA') {
          inData = true
          say('354 go ahead')
        } else if (cmd === 'RSET' || cmd === 'NOOP') say('250 ok')
        else if (cmd === 'QUIT') {
          say('221 bye')
          socket.end()
        } else say('502 unknown')
      }
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  t.teardown(() => new Promise<void>((r) => server.close(() => r())))
  return { port: (server.address() as AddressInfo).port, mails }
}

const alert = { event: 'backup-failed' as const, nodeId: 'ab'.repeat(32), atMs: Date.UTC(2026, 10, 27), message: 'the backup of "photos" failed (IO_FAILED)', share: 'photos', details: { code: 'IO_FAILED' } }

test('an alert goes out as an email over SMTP, authenticated with the URL\'s credentials', async (t) => {
  const s = await smtpServer(t)
  const sink = new SmtpAlertSink(`smtp://alerts:s3cret-pass@127.0.0.1:${s.port}`, 'quloud@nas.example', 'me@example.org')
  await sink.send(alert)
  t.is(s.mails.length, 1)
  const m = s.mails[0] as (typeof s.mails)[0]
  t.is(m.auth, '\u0000alerts\u0000s3cret-pass')
  t.regex(m.from, /quloud@nas\.example/)
  t.regex(m.to[0] ?? '', /me@example\.org/)
  t.regex(m.data, /Subject: =\?UTF-8\?Q\?Quloud=3A_the_backup_of/) // RFC 2047: the quotes make it Q-encoded
  t.regex(m.data, /\r\n\r\nthe backup of "photos" failed \(IO_FAILED\)\.\r\n/)
  t.regex(m.data, /Share: photos/)
  t.regex(m.data, /Node: abab/)
})

test('a refused email is PEER_REFUSED, naming the server\'s code and never the password', async (t) => {
  const s = await smtpServer(t, { rejectRcpt: true })
  const sink = new SmtpAlertSink(`smtp://alerts:s3cret-pass@127.0.0.1:${s.port}`, 'quloud@nas.example', 'nobody@example.org')
  const err = await t.throwsAsync(sink.send(alert), { code: 'PEER_REFUSED' })
  t.regex(err?.message ?? '', /550/)
  t.false((err?.message ?? '').includes('s3cret'))
  t.is(s.mails.length, 0)
})
