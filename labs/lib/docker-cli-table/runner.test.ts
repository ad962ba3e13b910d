// The docker CLI table's runner: splitting command lines, substituting saved values, and
// judging an outcome against a row's expectation (no docker, no lab).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { expectationOf, mismatch, substitute, words, type Row } from './runner.ts';
import { TABLE } from './table.ts';

test('words splits as a shell does for plain words and quotes', () => {
  assert.equal(words("service ls --format '{{.Name}} {{.Mode}}'"), ['service', 'ls', '--format', '{{.Name}} {{.Mode}}']);
  assert.equal(words(`config inspect --format '{{printf "%s" .Spec.Data}}' c`), ['config', 'inspect', '--format', '{{printf "%s" .Spec.Data}}', 'c']);
  assert.equal(words(`a"b c"d  e`), ['ab cd', 'e']);
  assert.throws(() => words("ls 'open"), /unbalanced quotes/);
});

test('substitute replaces {NAME} and refuses a name no row saved', () => {
  assert.is(substitute('join --token {T} x', { T: 'SWMTKN-1-a' }), 'join --token SWMTKN-1-a x');
  assert.throws(() => substitute('{NOPE}', {}), /\{NOPE\} is not set/);
});

test('mismatch checks the exit code first, then stdout and stderr', () => {
  const o = { code: 1, stdout: '', stderr: 'Error response from daemon: service x not found' };
  assert.is(mismatch(o, { exit: 1, err: /not found/ }, {}), undefined);
  assert.match(mismatch(o, { out: /x/ }, {})!, /exit 1, expected 0/);
  assert.match(mismatch({ code: 0, stdout: 'a\n', stderr: '' }, { out: /^b$/ }, {})!, /stdout does not match/);
  // A string pattern is compiled after substitution, multi-line.
  assert.is(mismatch({ code: 0, stdout: 'x\nid1\n', stderr: '' }, { out: '^{ID}$' }, { ID: 'id1' }), undefined);
  assert.is(mismatch({ code: 0, stdout: 'k', stderr: '' }, { out: (s, v) => s === v.K }, { K: 'k' }), undefined);
});

test('the peer expectation replaces the row only on the docker side', () => {
  const row: Row = { cmd: 'plugin ls', exit: 1, peer: { why: 'Docker serves plugins', out: /ID/ } };
  assert.is(expectationOf(row, 'shoal').exit, 1);
  assert.is(expectationOf(row, 'docker').exit, undefined);
});

test('the table: over 100 rows, every command line splits, every peer override says why', () => {
  assert.ok(TABLE.length >= 100);
  for (const row of TABLE) {
    assert.ok(words(row.cmd).length > 0, row.cmd);
    if (row.peer) assert.ok(row.peer.why, row.cmd);
  }
});

test.run();
