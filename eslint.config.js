// ESLint (flat config): the recommended JavaScript and typescript-eslint rules over every
// package, with the project's deviations below, each with its reason. `npm run lint`; CI
// runs it after the type check. Formatting is Prettier's (.prettierrc.json), not ESLint's.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    // packages/model/vendor: a bundle of tfjs-core's own code (tfjs-registrations.js), generated, not ours to lint.
    ignores: ['**/dist/**', '**/node_modules/**', 'packages/wasm-native/build/**', 'packages/model/vendor/**', '.ci/out/**', '**/*.d.ts'],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // `_`-prefixed parameters and destructured leftovers are deliberate (callbacks with a fixed
      // signature, `const { a, ...rest }`); anything else unused is a finding.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      // Store keys, ids and names are checked for control characters on purpose (/[\x00-\x1f]/).
      'no-control-regex': 'off',
    },
  },
  {
    // The dashboard's page script runs in the browser.
    files: ['packages/coordinator/src/dashboard/public/**/*.js'],
    languageOptions: { globals: { ...globals.browser } },
  },
);
