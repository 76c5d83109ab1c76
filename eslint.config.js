// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const unusedVars = [
  'error',
  // `_name` marks a value left out on purpose (a destructured field, a listener's argument).
  {
    argsIgnorePattern: '^_',
    varsIgnorePattern: '^_',
    caughtErrorsIgnorePattern: '^_',
    ignoreRestSiblings: true,
  },
];

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', 'output/', 'bench/results/'] },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['vitest.config.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': unusedVars,
      // Abort reasons and caught values are rethrown as they came, whatever their type.
      '@typescript-eslint/only-throw-error': [
        'error',
        { allowThrowingAny: true, allowThrowingUnknown: true },
      ],
      '@typescript-eslint/prefer-promise-reject-errors': [
        'error',
        { allowThrowingAny: true, allowThrowingUnknown: true },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      // An interface that extends one other names a public type of its own (FollowOptions).
      '@typescript-eslint/no-empty-object-type': ['error', { allowInterfaces: 'with-single-extends' }],
      // Sinks and test doubles are async to meet an interface, with or without an await inside.
      '@typescript-eslint/require-await': 'off',
      // domhandler's node types are string enums, compared with their values (the package is loaded
      // lazily, so its enum objects are not at hand).
      '@typescript-eslint/no-unsafe-enum-comparison': 'off',
      // Values of unknown type are stringified on purpose, once objects have been handled.
      '@typescript-eslint/no-base-to-string': 'off',
      // Spiders, items and parsed JSON are data of unknown shape; checking every access would be noise.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // A module reads in one sitting and a function fits on a screen (counted without blanks and comments).
    files: ['src/**/*.ts'],
    rules: {
      'max-lines': ['error', { max: 400, skipBlankLines: true, skipComments: true }],
      'max-lines-per-function': ['error', { max: 60, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    // Tests pass methods of test doubles and servers around detached.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/unbound-method': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: {
      globals: Object.fromEntries(
        [
          'AbortController',
          'Buffer',
          'URL',
          'TextDecoder',
          'TextEncoder',
          'clearInterval',
          'clearTimeout',
          'console',
          'fetch',
          'performance',
          'process',
          'setImmediate',
          'setInterval',
          'setTimeout',
        ].map((name) => [name, 'readonly']),
      ),
    },
    rules: { 'no-unused-vars': unusedVars },
  },
);
