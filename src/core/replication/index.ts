export * from './placement.js'
export * from './health.js'
