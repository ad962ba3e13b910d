// ESLint flat config: typescript-eslint's recommended rules plus `shoal/layers`, which
// enforces the import direction of DESIGN.md by resolving each relative import to the
// top-level folder it lands in (as VS Code's layering rule does, keyed on folder names):
//   raft/ imports nothing of ours; net/ nothing of src/, cli/, labs/ or raft; cli/ only src/api
//   (and cli/commands/daemon.ts, which hosts the server, src/daemon); src/ never cli/ or labs/
//   (src/**/*.lab.test.ts may use labs/lib, the lab itself).
// Inside src/, each folder stands on a floor (SRC_FLOORS) and production code imports only
// its own folder and lower floors; tests and test helpers may reach up for fixtures.
// Production code never imports a test file or a test helper.
import path from 'node:path';
import tseslint from 'typescript-eslint';

const root = path.dirname(new URL(import.meta.url).pathname);

/**
 * The floors of src/, ground first: a production module imports its own folder and lower
 * floors only; folders on one floor are independent of each other (the manager and the
 * worker's agent share rules through common/ and speak through wire/, never directly).
 * A folder not listed stands on the floor under daemon/.
 */
const SRC_FLOORS = {
  api: 1, // the Docker API's types, errors and client: the contract with the world
  common: 2, // logger, task rules and the HTTP router every side uses
  wire: 2, // the node-to-node protocol: session frames, network views
  store: 3, // the replicated object store's core
  images: 3, // image pull, store and unpack
  manager: 4, // the leader's store, CA, orchestrator, scheduler, allocator
  agent: 4, // the worker: executor, engine, networking
  swarm: 5, // one node composed: dispatcher, sessions, node server
  metrics: 5,
  dashboard: 5,
  daemon: 6, // the process: control API and composition root
};
const floorOf = (folder) => SRC_FLOORS[folder] ?? SRC_FLOORS.daemon - 1;

/** Tests, and the helpers only tests use (`testing*.ts`, `test-*.ts`, `testing/`, lab tests). */
const isTestish = (rel) => /\.test\.ts$|(^|\/)testing[^/]*\.ts$|(^|\/)test-[^/]*\.ts$|(^|\/)testing\//.test(rel);

/**
 * Whether `fromRel` may import `target` (both repo-relative paths): true, or why not.
 * Exported for labs/test/layers.test.ts, which checks the whole tree with it in npm test.
 */
export function allowed(fromRel, target) {
  const layer = fromRel.split('/')[0];
  const [top] = target.split('/');
  if (layer !== 'labs' && !isTestish(fromRel) && isTestish(target)) return 'production code must not import tests or test helpers';
  switch (layer) {
    case 'raft':
      return top === 'raft' ? true : 'raft/ is its own package (raft-ts): it imports nothing of Shoal';
    case 'net':
      return top === 'net' ? true : 'net/ is host networking: it imports nothing of src/, cli/, labs/ or raft';
    case 'src':
      if (top === 'raft') return 'import the Raft library as the package raft-ts, not by path';
      // Lab tests run on the lab's registry, image and hosts by design.
      if (top === 'labs' && /\.lab\.test\.ts$/.test(fromRel) && target.startsWith('labs/lib/')) return true;
      if (top === 'cli' || top === 'labs') return 'src/ must not depend on the CLI or the lab';
      if (top === 'src' && !isTestish(fromRel)) {
        const from = fromRel.split('/')[1];
        const to = target.split('/')[1];
        if (from !== to && !to.includes('.') && floorOf(to) >= floorOf(from)) {
          return `src/${from} (floor ${floorOf(from)}) must not import src/${to} (floor ${floorOf(to)}): imports point down the floors of SRC_FLOORS`;
        }
      }
      return true;
    case 'cli':
      if (top === 'cli' || target.startsWith('src/api/') || target === 'package.json') return true;
      if (fromRel === 'cli/commands/daemon.ts' && target.startsWith('src/daemon/')) return true;
      return 'cli/ is a client of the HTTP API: it may import src/api (types, client) only';
    default:
      return true;
  }
}

const layersRule = {
  meta: { type: 'problem', schema: [] },
  create(context) {
    const fromRel = path.relative(root, context.filename);
    const check = (node, source) => {
      if (typeof source !== 'string') return;
      let target;
      if (source === 'raft-ts' || source.startsWith('raft-ts/')) {
        // The package is fine where the layer may use raft: src/ and labs/ (and raft/ itself).
        if (/^(net|cli)\//.test(fromRel)) context.report({ node, message: `${source}: ${allowed(fromRel, 'raft/src/index.ts')}` });
        return;
      } else if (source.startsWith('.')) target = path.relative(root, path.resolve(path.dirname(context.filename), source));
      else return; // packages and node: builtins
      const verdict = allowed(fromRel, target);
      if (verdict !== true) context.report({ node, message: `${source}: ${verdict}` });
    };
    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
    };
  },
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '**/*.mjs', 'eslint.config.js', 'bin/**'] },
  ...tseslint.configs.recommended,
  {
    plugins: { shoal: { rules: { layers: layersRule } } },
    rules: {
      'shoal/layers': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
