import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EntryType, MemoryStorage } from '../../src/index.ts';
import type { Entry } from '../../src/index.ts';
import { SafetyChecker } from './safety.ts';

const enc = new TextEncoder();
const ent = (index: number, term: number, data = `e${index}`): Entry => ({ index, term, type: EntryType.Normal, data: enc.encode(data) });

function logOf(...entries: Entry[]): MemoryStorage {
  const s = new MemoryStorage();
  s.append(entries);
  return s;
}

test('election safety: two leaders in one term are caught, re-reporting one is fine', () => {
  const s = new SafetyChecker();
  s.leader('a', 1, logOf());
  s.leader('a', 1, logOf());
  s.leader('b', 2, logOf());
  assert.throws(() => s.leader('c', 2, logOf()), /election safety/);
});

test('log matching: one (index, term) pair naming two payloads is caught', () => {
  const s = new SafetyChecker();
  const a = logOf(ent(1, 1), ent(2, 1));
  s.persist('a', a, [ent(1, 1), ent(2, 1)], undefined);
  const b = logOf(ent(1, 1), ent(2, 1, 'other'));
  assert.throws(() => s.persist('b', b, [ent(2, 1, 'other')], undefined), /log matching/);
});

test('log matching: one (index, term) pair with two different predecessors is caught', () => {
  const s = new SafetyChecker();
  s.persist('a', logOf(ent(1, 1), ent(2, 3)), [ent(1, 1), ent(2, 3)], undefined);
  assert.throws(() => s.persist('b', logOf(ent(1, 2), ent(2, 3)), [ent(1, 2), ent(2, 3)], undefined), /log matching/);
});

test('commits: two nodes committing different entries at one index are caught', () => {
  const s = new SafetyChecker();
  s.persist('a', logOf(ent(1, 1)), [ent(1, 1)], { term: 1, vote: 'a', commit: 1 });
  assert.throws(() => s.persist('b', logOf(ent(1, 2)), [ent(1, 2)], { term: 2, vote: 'b', commit: 1 }), /state machine safety/);
});

test('monotonicity: term or commit going backward, a second vote in a term, commit past the log', () => {
  const s = new SafetyChecker();
  const log = logOf(ent(1, 1), ent(2, 1));
  s.persist('a', log, [], { term: 3, vote: 'b', commit: 2 });
  assert.throws(() => s.persist('a', log, [], { term: 2, vote: '', commit: 2 }), /term/);
  assert.throws(() => s.persist('a', log, [], { term: 3, vote: 'c', commit: 2 }), /vote/);
  assert.throws(() => s.persist('a', log, [], { term: 3, vote: 'b', commit: 1 }), /commit/);
  assert.throws(() => s.persist('a', log, [], { term: 3, vote: 'b', commit: 3 }), /past its last index/);
});

test('leader completeness: a leader missing an entry committed before its term is caught', () => {
  const s = new SafetyChecker();
  s.persist('a', logOf(ent(1, 1), ent(2, 1)), [], { term: 1, vote: 'a', commit: 2 });
  s.leader('b', 2, logOf(ent(1, 1), ent(2, 1)));
  assert.throws(() => s.leader('c', 3, logOf(ent(1, 1))), /leader completeness/);
  assert.throws(() => s.leader('d', 4, logOf(ent(1, 1), ent(2, 2))), /leader completeness/);
});

test('state machine safety: out-of-order applies, different applies, different app states', () => {
  const s = new SafetyChecker();
  const log = logOf(ent(1, 1), ent(2, 1));
  s.apply('a', ent(1, 1), 0, log);
  assert.throws(() => s.apply('a', ent(2, 1), 0, log), /apply order/);
  assert.throws(() => s.apply('b', ent(1, 1, 'x'), 0, logOf(ent(1, 1, 'x'))), /state machine safety/);
  assert.throws(() => s.apply('c', ent(1, 9), 0, log), /persisted log/);
  s.appState('a', 5, enc.encode('s'));
  assert.throws(() => s.appState('b', 5, enc.encode('t')), /application state/);
});

test.run();
