import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['.dependency-cruiser.cjs', 'dist/**', 'node_modules/**', 'circuits/build/**', 'ui/static/vendor/**', 'packaging/**/build/**', 'build/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { console: 'readonly', process: 'readonly', Buffer: 'readonly', URL: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', btoa: 'readonly', atob: 'readonly', performance: 'readonly' } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Log messages are constant strings; variable data goes in fields (CONVENTIONS §6).
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.property.name=/^(debug|info|warn|error)$/][callee.object.name=/^(log|logger)$/] > TemplateLiteral",
          message: 'Log messages are constant strings; put variable data in fields.',
        },
        {
          selector: "CallExpression[callee.property.name=/^(debug|info|warn|error)$/][callee.object.name=/^(log|logger)$/] > BinaryExpression",
          message: 'Log messages are constant strings; put variable data in fields.',
        },
      ],
    },
  },
  {
    // The settings page's own browser script.
    files: ['ui/static/**/*.js'],
    languageOptions: { sourceType: 'script', globals: { window: 'readonly', document: 'readonly', CSS: 'readonly', EventSource: 'readonly' } },
  },
  {
    files: ['src/core/**/*.ts'],
    ignores: ['src/core/**/*.test.ts'],
    rules: {
      // The core is deterministic: time and randomness come through the Clock and Sodium ports.
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Use the Clock port in core.' },
        { object: 'Math', property: 'random', message: 'Use the Sodium port (randomBytes) in core.' },
      ],
      'no-restricted-globals': ['error', { name: 'Buffer', message: 'Core uses Uint8Array, never Buffer.' }, { name: 'process', message: 'Core does no I/O.' }],
    },
  },
)
