import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KvState, decodeCommand, encodeCommand } from './kv-state.ts';

test('a retried write executes once and gets the first answer', () => {
  const s = new KvState();
  assert.equal(s.apply({ clientId: 1, seq: 1, input: { op: 'append', key: 'k', value: 'a;' } }), {});
  assert.equal(s.apply({ clientId: 1, seq: 1, input: { op: 'append', key: 'k', value: 'a;' } }), {});
  assert.is(s.read('k'), 'a;');
  assert.equal(s.apply({ clientId: 2, seq: 1, input: { op: 'cas', key: 'k', expected: 'a;', value: 'b' } }), { ok: true });
  assert.equal(s.apply({ clientId: 2, seq: 1, input: { op: 'cas', key: 'k', expected: 'a;', value: 'b' } }), { ok: true }, 'the stored answer, not a re-run that would fail');
  assert.is(s.read('k'), 'b');
});

test('a late copy of an older request changes nothing', () => {
  const s = new KvState();
  s.apply({ clientId: 1, seq: 2, input: { op: 'put', key: 'k', value: 'new' } });
  s.apply({ clientId: 1, seq: 1, input: { op: 'put', key: 'k', value: 'old' } });
  assert.is(s.read('k'), 'new');
});

test('a snapshot restores values and sessions', () => {
  const s = new KvState();
  s.apply({ clientId: 1, seq: 1, input: { op: 'append', key: 'k', value: 'x' } });
  const t = new KvState();
  t.restore(s.snapshot());
  t.apply({ clientId: 1, seq: 1, input: { op: 'append', key: 'k', value: 'x' } });
  assert.is(t.read('k'), 'x');
  assert.is(t.read('missing'), '');
});

test('commands round-trip; garbage is refused', () => {
  const c = { clientId: 3, seq: 9, input: { op: 'get' as const, key: 'k' } };
  assert.equal(decodeCommand(encodeCommand(c)), c);
  assert.throws(() => decodeCommand(new TextEncoder().encode('{"x":1}')), /not a kv command/);
  assert.throws(() => decodeCommand(new TextEncoder().encode('nope')));
});

test.run();
