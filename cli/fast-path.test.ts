import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { matchFastCommand, parseFastFlags, type FlagDef } from './fast-path.ts';

const DEFS: Record<string, FlagDef> = {
  host: { type: 'option', char: 'H', env: 'SHOAL_HOST', default: 'unix:///run/shoal/shoal.sock' },
  tlsverify: { type: 'boolean', env: 'SHOAL_TLS_VERIFY' },
  quiet: { type: 'boolean', char: 'q' },
  filter: { type: 'option', char: 'f', multiple: true, multipleNonGreedy: true },
  format: { type: 'option', default: 'table' },
  'no-trunc': { type: 'boolean' },
};

test('plain long, short, inline and repeated flags parse as oclif gives them', () => {
  const flags = parseFastFlags(['-H', 'unix:///s.sock', '--quiet', '--filter', 'name=a', '-f', 'mode=global', '--format={{.ID}}', '--no-trunc'], DEFS, {});
  assert.equal(flags, { host: 'unix:///s.sock', quiet: true, filter: ['name=a', 'mode=global'], format: '{{.ID}}', 'no-trunc': true });
});

test('an absent flag takes its env variable when set and non-empty, else its default', () => {
  assert.equal(parseFastFlags([], DEFS, { SHOAL_HOST: 'tcp://h:2375' }), { host: 'tcp://h:2375', format: 'table' });
  assert.equal(parseFastFlags([], DEFS, { SHOAL_HOST: '' }), { host: 'unix:///run/shoal/shoal.sock', format: 'table' });
});

test('forms left to oclif decline', () => {
  const declined = [
    ['--help'], ['-h'], ['--bogus'], ['extra'], ['--'], ['-'], ['-qf', 'x'], ['-Hunix:///s'], ['--quiet=true'],
    ['--format'], ['--format', '-q'], ['--format='], ['--format', 'a', '--format', 'b'], ['-H', 'x', '-H', 'y'], ['--no-quiet'],
  ];
  for (const argv of declined) assert.is(parseFastFlags(argv, DEFS, {}), undefined, argv.join(' '));
  assert.is(parseFastFlags([], DEFS, { SHOAL_TLS_VERIFY: '1' }), undefined, 'a boolean from env');
});

test('a command with a flag kind or rule the parser does not know declines', () => {
  assert.is(parseFastFlags([], { n: { type: 'option', fastUnsupported: true } }, {}), undefined);
  assert.is(parseFastFlags([], { n: { type: 'option', required: true } }, {}), undefined);
  assert.is(parseFastFlags([], { n: { type: 'option', default: () => 'x' } }, {}), undefined);
  assert.is(parseFastFlags(['--n', 'c'], { n: { type: 'option', options: ['a', 'b'] } }, {}), undefined);
  assert.equal(parseFastFlags(['--n', 'b'], { n: { type: 'option', options: ['a', 'b'] } }, {}), { n: 'b' });
});

test('only version and the ls commands, named by their words, take the fast path', () => {
  assert.equal(matchFastCommand(['service', 'ls', '-q']), { id: 'service ls', rest: ['-q'] });
  assert.equal(matchFastCommand(['version']), { id: 'version', rest: [] });
  assert.is(matchFastCommand(['service', 'create', 'x']), undefined);
  assert.is(matchFastCommand(['service:ls']), undefined);
  assert.is(matchFastCommand(['service']), undefined);
  assert.is(matchFastCommand([]), undefined);
});

test.run();
