export * from './placement.js'
