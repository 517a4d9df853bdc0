// The lint gate (npm run lint): type-aware rules for promises, plus import rules that encode the
// architecture (docs/architecture.md). Formatting is Prettier's job (npm run format:check).
import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

const NODE_IO = [
  'fs',
  'node:fs',
  'fs/promises',
  'node:fs/promises',
  'child_process',
  'node:child_process',
  'net',
  'node:net',
  'http',
  'node:http',
  'https',
  'node:https',
  'worker_threads',
  'node:worker_threads',
];
const NATIVE = ['node-llama-cpp', 'systeminformation', 'ws', 'vscode-languageserver', 'vscode-languageserver/node'];
const noVscode = { name: 'vscode', message: 'Only client/ (and the extension-host tests) may import vscode.' };
/** Schema runtime: the thin client and the webview take types and method constants only. */
const schemaModules = {
  regex: '(^zod(/.*)?$)|(/protocol(/(index|contract|schemas|config|settings))?$)',
  allowTypeImports: true,
  message:
    'The client and the webview carry no schema runtime: import types (import type) or protocol/methods, ' +
    'protocol/types, protocol/enums, protocol/errors, protocol/modelId.',
};

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'out/**',
      'node_modules/**',
      'test/vscode-host/**',
      '.cache/**',
      '.e2e/**',
      'test-artifacts/**',
      '**/*.mjs',
      '**/*.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { 'import-x': importX },
    settings: {
      ...importX.flatConfigs.typescript.settings,
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite', 'before', 'after'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': [
        'error',
        { checksVoidReturn: { arguments: false, attributes: false } },
      ],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'no-restricted-syntax': [
        'error',
        { selector: 'TSEnumDeclaration', message: 'Use a string union (type-strippable).' },
      ],
      'max-len': [
        'error',
        { code: 120, ignoreUrls: true, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true },
      ],
      'no-restricted-imports': ['error', { paths: [noVscode] }],
    },
  },
  {
    files: ['client/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/server/**', '**/server'], message: 'client/ talks to the daemon over the protocol only.' },
            ...[schemaModules],
          ],
        },
      ],
    },
  },
  {
    files: ['webview/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [noVscode, ...NODE_IO],
          patterns: [
            {
              group: ['**/server/**', '**/client/**'],
              message: 'The webview talks to the extension by messages only.',
            },
            { group: ['node:*'], message: 'The webview runs in a browser.' },
            schemaModules,
          ],
        },
      ],
    },
  },
  {
    files: ['protocol/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [noVscode, ...NODE_IO],
          patterns: [
            {
              group: ['../*', '**/server/**', '**/client/**', '**/webview/**'],
              message: 'protocol/ imports nothing of the project.',
            },
            { group: ['node:*'], message: 'protocol/ is browser-safe.' },
          ],
        },
      ],
    },
  },
  {
    files: ['server/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [noVscode, ...NODE_IO, ...NATIVE],
          patterns: [
            {
              regex: '^\\.\\./(?!\\.\\./protocol/)',
              message: 'server/core imports only protocol/ and itself: pass side effects in.',
            },
            {
              group: ['node:*', '!node:crypto'],
              message: 'server/core does no I/O: pass a Clock, Store or Provider in.',
            },
          ],
        },
      ],
    },
  },
  {
    // The extension-host tests run inside VS Code: they may import it.
    files: ['test/vscode/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
