import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryStorage } from '../memory-storage.ts';
import { EntryType } from '../types.ts';
import type { Entry } from '../types.ts';
import { RaftLog } from './raft-log.ts';

const ent = (index: number, term: number, size = 0): Entry => ({ index, term, type: EntryType.Normal, data: new Uint8Array(size) });
const ents = (terms: number[], from = 1) => terms.map((t, i) => ent(from + i, t));
const pairs = (es: Entry[]) => es.map((e) => [e.index, e.term]);

function logWith(stored: number[], unstable: number[] = []): RaftLog {
  const s = new MemoryStorage();
  s.append(ents(stored));
  const log = new RaftLog(s);
  if (unstable.length) log.append(ents(unstable, stored.length + 1));
  return log;
}

test('findConflict finds the first new or conflicting entry', () => {
  const log = logWith([1, 2, 3]);
  assert.is(log.findConflict([]), 0);
  assert.is(log.findConflict(ents([1, 2, 3])), 0);
  assert.is(log.findConflict(ents([2, 3, 4, 4], 2)), 4, 'new entries start at 4');
  assert.is(log.findConflict(ents([4, 4], 2)), 2, 'conflict at 2');
  assert.is(log.findConflict(ents([1, 4], 1)), 2);
});

test('maybeAppend appends after a matching entry, truncates conflicts and commits', () => {
  const log = logWith([1, 2, 3]);
  assert.is(log.maybeAppend(3, 2, 3, ents([4])), undefined, 'prev term mismatch');
  assert.is(log.maybeAppend(4, 3, 3, ents([4])), undefined, 'prev index missing');
  assert.is(log.maybeAppend(3, 3, 4, ents([4], 4)), 4);
  assert.is(log.committed, 4);
  assert.equal(pairs(log.allEntries()), [[1, 1], [2, 2], [3, 3], [4, 4]]);
  assert.is(log.maybeAppend(1, 1, 4, ents([2], 2)), 2, 'an old, matching App returns its own last index');
  assert.equal(pairs(log.allEntries()), [[1, 1], [2, 2], [3, 3], [4, 4]], 'and truncates nothing');
  const l2 = logWith([1, 2, 3]);
  l2.maybeAppend(1, 1, 0, ents([4, 4], 2));
  assert.equal(pairs(l2.allEntries()), [[1, 1], [2, 4], [3, 4]]);
  l2.commitTo(2);
  assert.throws(() => l2.maybeAppend(0, 0, 3, ents([9], 1)), /conflicts with committed/, 'truncating below commit is a bug');
});

test('findConflictByTerm skips every entry with a larger term', () => {
  const log = logWith([1, 1, 1, 4, 4, 5, 5, 6, 6, 6]);
  assert.equal(log.findConflictByTerm(10, 3), [3, 1]);
  assert.equal(log.findConflictByTerm(10, 5), [7, 5]);
  assert.equal(log.findConflictByTerm(10, 6), [10, 6]);
  assert.equal(log.findConflictByTerm(10, 0), [0, 0]);
  assert.equal(log.findConflictByTerm(5, 4), [5, 4]);
});

test('slice joins stored and unstable entries and honours the size limit', () => {
  const log = logWith([1, 1, 2], [2, 3]);
  assert.equal(pairs(log.slice(2, 6, Infinity)), [[2, 1], [3, 2], [4, 2], [5, 3]]);
  assert.equal(pairs(log.slice(4, 5, Infinity)), [[4, 2]]);
  const sized = new MemoryStorage();
  sized.append([ent(1, 1, 10), ent(2, 1, 10), ent(3, 1, 10)]);
  const l2 = new RaftLog(sized);
  l2.append([ent(4, 1, 10)]);
  assert.is(l2.slice(1, 5, 25).length, 2);
  assert.is(l2.slice(1, 5, 0).length, 1, 'always at least one');
  assert.is(l2.slice(1, 5, 40).length, 4);
});

test('stableTo drops persisted entries from the unstable tail only when the term matches', () => {
  const log = logWith([1], [1, 2]);
  log.stableTo(2, 2);
  assert.is(log.unstable.offset, 2, 'term mismatch: nothing stabilized');
  log.stableTo(2, 1);
  assert.is(log.unstable.offset, 3);
  assert.equal(pairs(log.unstableEntries()), [[3, 2]]);
  assert.is(log.stableLastIndex(), 2);
});

test('append truncating into the stored log rewinds the unstable offset', () => {
  const log = logWith([1, 1, 1], [1]);
  log.append(ents([2, 2], 2));
  assert.is(log.unstable.offset, 2);
  assert.equal(pairs(log.allEntries()), [[1, 1], [2, 2], [3, 2]]);
});

test('isUpToDate compares last term first, then last index', () => {
  const log = logWith([1, 2, 2]);
  assert.ok(log.isUpToDate(1, 3));
  assert.ok(log.isUpToDate(3, 2));
  assert.ok(log.isUpToDate(4, 2));
  assert.not.ok(log.isUpToDate(2, 2));
  assert.not.ok(log.isUpToDate(9, 1));
});

test('maybeCommit only commits an entry of the given term', () => {
  const log = logWith([1, 2, 3]);
  assert.not.ok(log.maybeCommit(2, 3));
  assert.ok(log.maybeCommit(3, 3));
  assert.is(log.committed, 3);
  assert.throws(() => log.commitTo(9), /out of range/);
});

test('restore replaces the log with a snapshot and next committed entries wait for it', () => {
  const log = logWith([1, 1]);
  log.restore({ metadata: { index: 10, term: 4, confState: { voters: ['a'], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } }, data: new Uint8Array() });
  assert.is(log.committed, 10);
  assert.is(log.lastIndex(), 10);
  assert.is(log.firstIndex(), 11);
  assert.is(log.term(10), 4);
  assert.ok(log.hasPendingSnapshot());
  assert.equal(log.nextCommittedEnts(), []);
});

test('nextCommittedEnts hands out committed entries past applied', () => {
  const log = logWith([1, 1, 1]);
  log.commitTo(2);
  assert.equal(pairs(log.nextCommittedEnts()), [[1, 1], [2, 1]]);
  log.appliedTo(2);
  assert.not.ok(log.hasNextCommittedEnts());
  assert.throws(() => log.appliedTo(3), /out of range/);
});

test.run();
