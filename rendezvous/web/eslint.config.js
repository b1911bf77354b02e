// ESLint (flat config) for the guest page: the browser modules, and the node tests under
// test/. Run by rendezvous/tests/web_page.rs after `npm ci` (which `cargo xtask test` does).

import js from '@eslint/js';
import globals from 'globals';

export default [
  { ignores: ['node_modules/'] },
  js.configs.recommended,
  {
    files: ['**/*.js'],
    languageOptions: {
      ecmaVersion: 2024,
      sourceType: 'module',
      globals: globals.browser,
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-var': 'error',
      'prefer-const': 'error',
      'no-unused-vars': ['error', { args: 'after-used', caughtErrors: 'none' }],
      'no-implicit-globals': 'error',
      'no-shadow': 'error',
    },
  },
  {
    files: ['eslint.config.js', 'test/**/*.js'],
    languageOptions: { globals: globals.node },
  },
];
