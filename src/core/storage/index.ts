export * from './at-rest.js'
export * from './catalog.js'
