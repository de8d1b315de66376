// ESLint (flat config): typescript-eslint's type-aware recommended rules over every
// TypeScript file, and the layering of docs/architecture.md "What may import what".
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

/** Files that may not import these: `rules` are [patterns (relative to any depth of ../), message] pairs. */
const forbid = (files, rules, ignores = []) => ({
  files,
  ignores,
  rules: {
    'no-restricted-imports': ['error', { patterns: rules.map(([group, message]) => ({ group, message })) }],
  },
});

const ADAPTERS = ['**/slack/**', '**/http/**', '**/main/**', '**/jobs/**'];
const NO_ADAPTERS = [ADAPTERS, 'The domain and the store do not import adapters (docs/architecture.md "What may import what").'];
const NO_MODELS = [
  ['mongoose', '**/store/mongo.js', '**/store/models/**'],
  'The domain reaches MongoDB through the repositories of src/store, never its models or connection (docs/architecture.md).',
];
const DOMAIN = [
  'src/keys/**',
  'src/members/**',
  'src/dependents/**',
  'src/audit/**',
  'src/revocation/**',
  'src/roles/**',
  'src/leaks/**',
  'src/admin-tokens/**',
  'src/requests/**',
];

export default defineConfig(
  { ignores: ['dist/', 'node_modules/', 'coverage/'] },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // `_`-prefixed parameters and caught errors are deliberately unused (handler signatures).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Off: an async function without an await is how this code meets a Promise-returning
      // interface (route handlers, close/stop methods, Bolt listeners); the rule's fix,
      // `return Promise.resolve(x)`, says the same thing less plainly.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Tests read arbitrary JSON (HTTP bodies, recorded Slack calls) as `any` and assert its shape.
    files: ['test/**'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // The CLI prints the management API's JSON answers as tables, field by field, whatever their shape.
    files: ['src/cli/render.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
    },
  },
  {
    files: ['**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  // Layering (docs/architecture.md): the domain and the store know nothing of Slack, HTTP,
  // the jobs or the entry points; the domain reaches MongoDB only through src/store's
  // repositories; the jobs never import the HTTP adapter.
  forbid(DOMAIN, [NO_ADAPTERS, NO_MODELS]),
  forbid(['src/store/**', 'src/observability/**'], [NO_ADAPTERS]),
  forbid(['jobs/**'], [[['**/http/**'], 'Jobs do not import the HTTP adapter; shared metrics live in src/observability.']]),
  forbid(['src/http/**'], [[['**/slack/**', '**/jobs/**'], 'The HTTP adapter does not import Slack or the jobs.']]),
  forbid(['src/slack/**'], [[['**/jobs/**', '**/store/**'], 'Slack reaches data through the domain services, not the store or the jobs.']]),
);
