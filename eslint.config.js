// ESLint flat config: typescript-eslint's recommended rules plus `shoal/layers`, which
// enforces the import direction of DESIGN.md by resolving each relative import to the
// top-level folder it lands in (as VS Code's layering rule does, keyed on folder names):
//   raft/ imports nothing of ours; net/ nothing of src/, cli/, raft; cli/ only src/api
//   (src/**/*.lab.test.ts and lab fixtures may use labs/lib, the lab itself)
//   (and cli/commands/daemon.ts, which hosts the server, src/daemon); src/ never cli/ or labs/.
import path from 'node:path';
import tseslint from 'typescript-eslint';

const root = path.dirname(new URL(import.meta.url).pathname);

/** Where a module may import from, by the top-level folder (or sub-folder) it lives in. */
function allowed(fromRel, target) {
  const layer = fromRel.split('/')[0];
  const [top] = target.split('/');
  switch (layer) {
    case 'raft':
      return top === 'raft' ? true : 'raft/ is its own package (raft-ts): it imports nothing of Shoal';
    case 'net':
      return top === 'net' ? true : 'net/ is host networking: it imports nothing of src/, cli/, labs/ or raft';
    case 'src':
      if (top === 'raft') return 'import the Raft library as the package raft-ts, not by path';
      // Lab tests (and their fixtures) run on the lab's registry, image and hosts by design.
      if (top === 'labs' && /\.lab\.test\.ts$|\/lab-fixture\.ts$/.test(fromRel) && target.startsWith('labs/lib/')) return true;
      return top === 'cli' || top === 'labs' ? 'src/ must not depend on the CLI or the lab' : true;
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
