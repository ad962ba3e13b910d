import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { interpolate, interpolateString } from './interpolate.ts';

const ENV: Record<string, string> = { TAG: '1.25', EMPTY: '', NAME: 'web' };
const env = (n: string) => ENV[n];
const i = (s: string) => interpolateString(s, env);

test('plain strings are unchanged', () => assert.is(i('nginx:latest'), 'nginx:latest'));
test('$VAR and ${VAR} are replaced', () => {
  assert.is(i('nginx:$TAG'), 'nginx:1.25');
  assert.is(i('nginx:${TAG}-alpine'), 'nginx:1.25-alpine');
});
test('an unset variable is empty', () => assert.is(i('a${NOPE}b$NOPE'), 'ab'));
test('$$ is a literal dollar', () => {
  assert.is(i('echo $$HOME'), 'echo $HOME');
  assert.is(i('$$$$'), '$$');
});
test(':- defaults when unset or empty, - only when unset', () => {
  assert.is(i('${NOPE:-x}'), 'x');
  assert.is(i('${EMPTY:-x}'), 'x');
  assert.is(i('${EMPTY-x}'), '');
  assert.is(i('${NOPE-x}'), 'x');
  assert.is(i('${TAG:-x}'), '1.25');
});
test('defaults nest', () => {
  assert.is(i('${NOPE:-${NAME}}'), 'web');
  assert.is(i('${NOPE:-${ALSO:-deep}}'), 'deep');
  assert.is(i('${NOPE:-a}b'), 'ab');
});
test(':+ and + replace when set', () => {
  assert.is(i('${TAG:+set}'), 'set');
  assert.is(i('${EMPTY:+set}'), '');
  assert.is(i('${EMPTY+set}'), 'set');
  assert.is(i('${NOPE+set}'), '');
});
test(':? fails with the message when unset or empty', () => {
  assert.throws(() => i('${NOPE:?need a tag}'), /required variable NOPE is missing a value: need a tag/);
  assert.throws(() => i('${EMPTY:?e}'), /EMPTY/);
  assert.is(i('${EMPTY?e}'), '');
  assert.throws(() => i('${NOPE?}'), /required variable NOPE is missing a value$/);
});
test('bad syntax is refused', () => {
  assert.throws(() => i('a $ b'), /invalid interpolation format/);
  assert.throws(() => i('${TAG'), /missing "}"/);
  assert.throws(() => i('${}'), /variable name/);
  assert.throws(() => i('${TAG%x}'), /unknown operator/);
});
test('interpolate walks values, not keys, and names the path on error', () => {
  const out = interpolate({ services: { $TAG: { image: 'x:$TAG', n: 3, l: ['$NAME', true] } } }, env);
  assert.equal(out, { services: { $TAG: { image: 'x:1.25', n: 3, l: ['web', true] } } });
  try {
    interpolate({ services: { web: { environment: ['A=${X:?x}'] } } }, env);
    assert.unreachable();
  } catch (err) {
    assert.equal((err as { path: unknown }).path, ['services', 'web', 'environment', 0]);
  }
});

test.run();
