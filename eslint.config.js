import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/dist-server/**', '.run/**', '.cache/**', '**/node_modules/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    // The worker logs through pino: structured, levelled, secrets redacted.
    files: ['worker/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: { 'no-console': 'error' },
  },
  {
    // The page, and Playwright callbacks that run inside it.
    files: ['web/src/**/*.ts', 'scripts/screenshot.mjs', 'scripts/bench-page.mjs', 'scripts/bench-soak.mjs'],
    languageOptions: { globals: { ...globals.browser } },
  },
);
