export * from './merkle.js'
