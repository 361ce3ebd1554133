#!/usr/bin/env node
/**
 * Entry of the compiled node (dist/cli/bin.js): what the NAS packages and the container run.
 * bin/quloud is the same for a checkout, running the TypeScript through tsx.
 */
import { main } from './main.js'

const code = await main(process.argv)
// Leave through the event loop, so open handles close first; force only if something lingers.
process.exitCode = code
setTimeout(() => process.exit(code), 2000).unref()
