// ESLint flat config. Besides typescript-eslint's recommended rules it enforces the
// import direction of DESIGN.md: raft/ imports nothing of ours; net/ nothing of src/
// or cli/; cli/ only the API types and client (src/api); src/ never cli/ or labs/.
import tseslint from 'typescript-eslint';

const pattern = (group, message) => ({ group, message });
const restrict = (files, patterns) => ({
  files,
  rules: { 'no-restricted-imports': ['error', { patterns }] },
});

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '**/*.mjs', 'eslint.config.js'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  restrict(['raft/**/*.ts'], [
    pattern(['**/src/**', '**/net/**', '**/cli/**', '**/labs/**', 'shoal', 'shoal/*'],
      'raft/ is its own package (raft-ts): it imports nothing of Shoal'),
  ]),
  restrict(['net/**/*.ts'], [
    pattern(['**/src/**', '**/cli/**', '**/labs/**', 'raft-ts', 'raft-ts/*', '**/raft/**'],
      'net/ is host networking: it imports neither the orchestrator (src/), the CLI nor raft'),
  ]),
  restrict(['src/**/*.ts'], [
    pattern(['**/cli/**', '**/labs/**'], 'src/ must not depend on the CLI or the lab'),
    pattern(['**/raft/src/**'], 'import the Raft library as the package raft-ts, not by path'),
  ]),
  restrict(['cli/**/*.ts'], [
    pattern(['**/src/*', '!**/src/api', '!**/src/api/**', '**/net/**', '**/labs/**', 'raft-ts', 'raft-ts/*', '**/raft/**'],
      'cli/ is a client of the HTTP API: it may import src/api (types, client) only'),
  ]),
);
