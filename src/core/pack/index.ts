export * from './padme.js'
export * from './pack-format.js'
export * from './pack-builder.js'
export * from './pack-reader.js'
