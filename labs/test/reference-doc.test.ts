// docs/reference.md is generated from the CLI itself (scripts/gen-reference.ts); this
// fails when a command, flag or help text changed without the reference being made anew.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { currentReference, renderReference, REFERENCE_FILE } from '../../scripts/gen-reference.ts';

test('docs/reference.md is what the CLI describes now (else: npm run docs:reference)', async () => {
  const want = await currentReference();
  const have = readFileSync(REFERENCE_FILE, 'utf8');
  if (have !== want) {
    const a = have.split('\n');
    const b = want.split('\n');
    const i = a.findIndex((line, n) => line !== b[n]);
    assert.unreachable(`docs/reference.md is stale: run \`npm run docs:reference\` (first difference at line ${i + 1}: ${JSON.stringify(a[i])} vs ${JSON.stringify(b[i])})`);
  }
});

test('renderReference: a command with its usage, arguments, flags and examples', () => {
  const md = renderReference({
    'thing:make': {
      id: 'thing:make', summary: 'Make a thing', description: 'Makes it.\nTwice.', examples: ['<%= config.bin %> thing make x'],
      args: { name: { name: 'name', description: 'Its name', required: true } },
      flags: { force: { name: 'force', type: 'boolean', char: 'f', summary: 'Do it anyway.' }, size: { name: 'size', type: 'option', summary: 'Size.', default: 3, options: ['3', '4'] } },
    },
  }, { thing: { description: 'Manage things' } });
  assert.match(md, /## thing: Manage things/);
  assert.match(md, /### shoal thing make\n\nMake a thing\.\n\nMakes it\.\nTwice\./);
  assert.match(md, /```\nshoal thing make \[FLAGS\] NAME\n```/);
  assert.match(md, /\| `-f`, `--force` \| Do it anyway\. \|/);
  assert.match(md, /\| `--size VALUE` \| Size\. \(one of `3`, `4`; default `3`\) \|/);
  assert.match(md, /```sh\nshoal thing make x\n```/);
});

test.run();
