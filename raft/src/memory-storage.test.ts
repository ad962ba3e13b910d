import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryStorage, limitSize } from './memory-storage.ts';
import { CompactedError, UnavailableError } from './storage.ts';
import { SnapshotOutOfDateError } from './errors.ts';
import { EntryType, emptyConfState } from './types.ts';
import type { Entry } from './types.ts';

const ent = (index: number, term: number, size = 0): Entry => ({ index, term, type: EntryType.Normal, data: new Uint8Array(size) });
const pairs = (es: Entry[]) => es.map((e) => [e.index, e.term]);

function storage(terms: number[]): MemoryStorage {
  const s = new MemoryStorage();
  s.append(terms.map((t, i) => ent(i + 1, t)));
  return s;
}

test('a new storage carries the bootstrap configuration and an empty log', () => {
  const s = new MemoryStorage({ confState: { ...emptyConfState(), voters: ['a', 'b'] } });
  assert.equal(s.initialState().confState.voters, ['a', 'b']);
  assert.equal(s.initialState().hardState, { term: 0, vote: '', commit: 0 });
  assert.is(s.firstIndex(), 1);
  assert.is(s.lastIndex(), 0);
  assert.is(s.term(0), 0);
});

test('append extends, truncates conflicting suffixes and skips compacted entries', () => {
  const s = storage([1, 2, 3]);
  s.append([ent(4, 3)]);
  assert.is(s.lastIndex(), 4);
  s.append([ent(3, 4), ent(4, 4), ent(5, 4)]);
  assert.equal(pairs(s.entries(1, 6, Infinity)), [[1, 1], [2, 2], [3, 4], [4, 4], [5, 4]]);
  s.compact(2);
  s.append([ent(1, 1), ent(2, 2), ent(3, 4), ent(4, 5)]);
  assert.equal(pairs(s.entries(3, 5, Infinity)), [[3, 4], [4, 5]]);
  assert.throws(() => s.append([ent(9, 9)]), /missing log entry/);
});

test('entries and term report compaction and unavailability', () => {
  const s = storage([1, 1, 2, 2]);
  s.compact(2);
  assert.is(s.firstIndex(), 3);
  assert.is(s.term(2), 1, 'the compaction point keeps its term');
  assert.throws(() => s.term(1), (e: unknown) => e instanceof CompactedError);
  assert.throws(() => s.term(5), (e: unknown) => e instanceof UnavailableError);
  assert.throws(() => s.entries(2, 4, Infinity), (e: unknown) => e instanceof CompactedError);
  assert.throws(() => s.entries(3, 6, Infinity), (e: unknown) => e instanceof UnavailableError);
  assert.throws(() => s.compact(1), (e: unknown) => e instanceof CompactedError);
});

test('entries are limited by size but include at least one', () => {
  const s = new MemoryStorage();
  s.append([ent(1, 1, 10), ent(2, 1, 10), ent(3, 1, 10)]);
  assert.is(s.entries(1, 4, 0).length, 1);
  assert.is(s.entries(1, 4, 20).length, 2);
  assert.is(limitSize([], 5).length, 0);
});

test('createSnapshot records the state at an index; applySnapshot replaces the log', () => {
  const s = storage([1, 1, 2]);
  const cs = { ...emptyConfState(), voters: ['a'] };
  const snap = s.createSnapshot(2, cs, new Uint8Array([7]));
  assert.equal([snap.metadata.index, snap.metadata.term], [2, 1]);
  assert.is(s.snapshot(), snap);
  assert.throws(() => s.createSnapshot(1, cs, new Uint8Array()), (e: unknown) => e instanceof SnapshotOutOfDateError);
  s.applySnapshot({ metadata: { index: 10, term: 3, confState: cs }, data: new Uint8Array() });
  assert.is(s.firstIndex(), 11);
  assert.is(s.lastIndex(), 10);
  assert.is(s.term(10), 3);
  assert.throws(() => s.applySnapshot(snap), (e: unknown) => e instanceof SnapshotOutOfDateError);
});

test.run();
