/** Layer rules of CONVENTIONS.md §2; colocated *.test.ts files are exempt from layer rules, not from no-cycles. */
module.exports = {
  forbidden: [
    {
      name: 'core-is-pure', severity: 'error',
      comment: 'core/ imports only core/ and shared/: no Node builtins, no npm packages',
      from: { path: '^src/core/', pathNot: '\\.test\\.ts$' },
      to: { pathNot: '^src/(core|shared)/' },
    },
    {
      name: 'shared-is-standalone', severity: 'error',
      from: { path: '^src/shared/', pathNot: '\\.test\\.ts$' },
      to: { pathNot: '^src/shared/' },
    },
    {
      name: 'adapters-stay-in-lane', severity: 'error',
      from: { path: '^src/adapters/([^/]+)/', pathNot: '\\.test\\.ts$' },
      to: { path: '^src/(app|cli|web|adapters)/', pathNot: '^src/adapters/$1/' },
    },
    {
      name: 'only-compose-wires', severity: 'error',
      from: { path: '^src/(app|cli|web)/', pathNot: '^src/app/compose\\.ts$|\\.test\\.ts$' },
      to: { path: '^src/adapters/' },
    },
    {
      name: 'app-talks-to-ports', severity: 'error',
      comment: 'app/ uses core/ and shared/ (compose.ts excepted); never cli/ or web/',
      from: { path: '^src/app/', pathNot: '^src/app/compose\\.ts$|\\.test\\.ts$' },
      to: { path: '^src/(cli|web)/' },
    },
    {
      name: 'no-cycles', severity: 'error',
      from: {}, to: { circular: true },
    },
    {
      name: 'no-unresolvable', severity: 'error',
      from: {}, to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.js', '.d.ts', '.json'] },
  },
}
