import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LeaderChangedError } from './errors.ts';
import { IdSource, ProposalTable, contextKey, openEnvelope, type PendingProposal } from './pending.ts';
import { ManualClock } from './clock.ts';

function pending(key: string) {
  const out: { value?: unknown; error?: unknown } = {};
  const p: PendingProposal = { key, at: 0, resolve: (v) => (out.value = v), reject: (e) => (out.error = e) };
  return { p, out };
}

test('the envelope round-trips the payload and gives each proposal its own key', () => {
  const ids = new IdSource(() => 0.5);
  const a = ids.wrap(new Uint8Array([1, 2, 3]));
  const b = ids.wrap(new Uint8Array([1, 2, 3]));
  assert.is.not(a.key, b.key);
  const opened = openEnvelope(a.data);
  assert.is(opened.key, a.key);
  assert.equal(Array.from(opened.payload), [1, 2, 3]);
  assert.equal(openEnvelope(new Uint8Array([0, 9])), { key: undefined, payload: new Uint8Array([9]) });
  const { ctx, key } = ids.context();
  assert.is(contextKey(ctx), key);
});

test('a proposal whose index is taken by another entry is rejected as definitely lost', () => {
  const t = new ProposalTable();
  const { p, out } = pending('k1');
  t.add(p);
  t.appended(5, 1, 'k1');
  t.appended(5, 2, 'other');
  assert.instance(out.error, LeaderChangedError);
  assert.is((out.error as LeaderChangedError).definite, true);
  assert.is(t.size, 0);
});

test('a leader change rejects only proposals not yet in the log, with an unknown outcome', () => {
  const t = new ProposalTable();
  const a = pending('a');
  const b = pending('b');
  t.add(a.p);
  t.add(b.p);
  t.appended(7, 1, 'a');
  t.leaderChanged();
  assert.is(a.out.error, undefined);
  assert.is((b.out.error as LeaderChangedError).definite, false);
  assert.is(t.applied(7, 'a'), a.p);
});

test('the manual clock fires due timers in time order and cancels', () => {
  const c = new ManualClock();
  const fired: string[] = [];
  c.setTimer(20, () => fired.push('b'));
  c.setTimer(10, () => {
    fired.push('a');
    c.setTimer(5, () => fired.push('a2'));
  });
  const cancel = c.setTimer(15, () => fired.push('x'));
  cancel();
  c.advance(30);
  assert.equal(fired, ['a', 'a2', 'b']);
  assert.is(c.now(), 30);
});

test.run();
