// The floors of the house, checked over the whole tree in `npm test` (ESLint checks the same
// rule per file in `npm run lint`, but lint is not part of the test run and takes a minute):
// every relative import of every TypeScript file under raft/, net/, src/ and cli/ is
// resolved to the file it names and judged by eslint.config.js's `allowed` — a lower floor
// importing a higher one, or production code importing tests or labs, fails here.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './daemon-process.ts';
// @ts-expect-error eslint.config.js is plain JavaScript without declarations
import { allowed } from '../../eslint.config.js';

const judge = allowed as (fromRel: string, target: string) => true | string;
const ROOTS = ['raft/src', 'raft/test', 'net', 'src', 'cli'];

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (/\.(ts|mts)$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** The module specifiers of static imports, re-exports and literal dynamic imports. */
export function specifiers(code: string): string[] {
  const out: string[] = [];
  const re = /\b(?:import|export)\s[^'";]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const m of code.matchAll(re)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

test('specifiers: static, side-effect, type-only, re-export and dynamic imports', () => {
  const code = "import a from './a.ts';\nimport type { B } from '../b.ts';\nimport './c.ts';\nexport * from './d.ts';\nconst e = await import('./e.ts');";
  assert.equal(specifiers(code), ['./a.ts', '../b.ts', './c.ts', './d.ts', './e.ts']);
});

test('no import in the tree points up a floor, into tests from production, or into labs', () => {
  const broken: string[] = [];
  for (const root of ROOTS) {
    for (const file of sources(path.join(REPO_ROOT, root))) {
      const fromRel = path.relative(REPO_ROOT, file);
      for (const spec of specifiers(readFileSync(file, 'utf8'))) {
        if (spec === 'raft-ts' || spec.startsWith('raft-ts/')) {
          if (/^(net|cli)\//.test(fromRel)) broken.push(`${fromRel}: ${spec}: only src/ and labs/ use the Raft library`);
          continue;
        }
        if (!spec.startsWith('.')) continue;
        const target = path.relative(REPO_ROOT, path.resolve(path.dirname(file), spec));
        const verdict = judge(fromRel, target);
        if (verdict !== true) broken.push(`${fromRel}: ${spec}: ${verdict}`);
      }
    }
  }
  assert.equal(broken, [], `imports against the floors:\n${broken.join('\n')}`);
});

test.run();
