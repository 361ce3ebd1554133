export * from './merkle.js'
export * from './check.js'
