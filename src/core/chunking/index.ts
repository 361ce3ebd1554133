export * from './fastcdc.js'
export * from './gear.js'
