// Worker entry when running from TypeScript source: Node 20 workers do not inherit the parent's
// tsx loader, so register it here before loading the worker body.
import { register } from 'tsx/esm/api'

register()
await import('./walk-worker.ts')
