import type { LogFields, Logger } from '../../core/ports/logger.js'

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const
export type LogLevel = keyof typeof LEVELS

/** Field names whose values are never written, whatever a caller passes by mistake. */
const SECRET_FIELD = /key|passphrase|password|token|secret|seed|cookie|authorization/i

function redact(value: unknown, name: string, depth = 0): unknown {
  if (SECRET_FIELD.test(name)) return '[redacted]'
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code
    return { name: value.name, message: value.message, ...(code === undefined ? {} : { code }) }
  }
  if (value instanceof Uint8Array) return `<${value.length} bytes>`
  if (typeof value === 'bigint') return '[redacted]' // field elements are proof secrets
  if (depth < 3 && value && typeof value === 'object' && !Array.isArray(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v, k, depth + 1)]))
  }
  return value
}

/** JSON lines on a stream (stderr by default), with per-component children and redaction. */
export class JsonLogger implements Logger {
  constructor(
    private readonly opts: { level?: LogLevel; write?: (line: string) => void; bindings?: LogFields; debugComponents?: ReadonlySet<string> } = {},
  ) {}

  #log(level: LogLevel, fields: LogFields, message: string): void {
    const bindings = this.opts.bindings ?? {}
    const component = typeof bindings.component === 'string' ? bindings.component : ''
    const debugOn = this.opts.debugComponents?.has(component) || this.opts.debugComponents?.has('*')
    if (LEVELS[level] < LEVELS[this.opts.level ?? 'info'] && !(level === 'debug' && debugOn)) return
    const record = { time: new Date().toISOString(), level, msg: message, ...(redact({ ...bindings, ...fields }, '') as object) }
    ;(this.opts.write ?? ((line) => process.stderr.write(line)))(JSON.stringify(record) + '\n')
  }

  debug(fields: LogFields, message: string): void {
    this.#log('debug', fields, message)
  }
  info(fields: LogFields, message: string): void {
    this.#log('info', fields, message)
  }
  warn(fields: LogFields, message: string): void {
    this.#log('warn', fields, message)
  }
  error(fields: LogFields, message: string): void {
    this.#log('error', fields, message)
  }
  child(fields: LogFields): Logger {
    return new JsonLogger({ ...this.opts, bindings: { ...(this.opts.bindings ?? {}), ...fields } })
  }
}

/** QULOUD_DEBUG=ssdp,replication (or *) turns on debug lines of those components. */
export function debugComponentsFromEnv(value: string | undefined): ReadonlySet<string> {
  return new Set((value ?? '').split(',').map((s) => s.trim()).filter(Boolean))
}
