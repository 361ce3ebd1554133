/**
 * Structured logger. Messages are constant capitalised strings; variable data goes in fields with
 * camelCase names. Callers MUST NOT pass keys, passphrases, tokens or file contents.
 */
export interface LogFields {
  [field: string]: unknown
}

export interface Logger {
  debug(fields: LogFields, message: string): void
  info(fields: LogFields, message: string): void
  warn(fields: LogFields, message: string): void
  error(fields: LogFields, message: string): void
  child(fields: LogFields): Logger
}
