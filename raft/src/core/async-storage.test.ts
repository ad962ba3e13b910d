/**
 * The core's asynchronous-storage contract (etcd's AsyncStorageWrites): Readys taken without
 * waiting for writes carry only what is new, and a leader counts itself towards a quorum
 * only for entries whose write finished (`advanceAppend`), never for ones in flight.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MessageType, type Message, type Ready } from '../types.ts';
import { Network, type TestNode } from './test-network.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const opts = { preVote: true, checkQuorum: true };

/** A leader `a` with followers `b`, `c`, everything settled. */
function cluster(): { net: Network; a: TestNode } {
  const net = new Network(['a', 'b', 'c'], opts);
  net.campaign('a');
  return { net, a: net.nodes.get('a')! };
}

/** Takes `a`'s next Ready and starts its "write" (visible to storage, not yet reported done). */
function takeReady(a: TestNode): Ready {
  const rd = a.rn.ready();
  if (rd.snapshot) a.storage.applySnapshot(rd.snapshot);
  a.storage.append(rd.entries);
  if (rd.hardState) a.storage.setHardState(rd.hardState);
  return rd;
}

/** A follower's acknowledgement of everything up to `index`. */
function ack(from: string, a: TestNode, index: number): Message {
  return { type: MessageType.AppResp, from, to: 'a', term: a.rn.raft.term, logTerm: 0, index, entries: [], commit: 0, reject: false, rejectHint: 0 };
}

test('a leader never counts itself for an entry whose write has not finished', () => {
  const { a } = cluster();
  const before = a.rn.raft.raftLog.committed;
  a.rn.propose(enc('x'));
  const rd = takeReady(a);
  assert.is(rd.entries.length, 1);
  const index = rd.entries[0].index;
  // One follower's ack: with the leader's own write in flight that is one vote of three.
  a.rn.step(ack('b', a, index));
  assert.is(a.rn.raft.raftLog.committed, before, 'committed on the leader\'s unwritten entry');
  assert.is(a.rn.raft.trk.progress.get('a')!.match < index, true);
  // Its write finishes: now it counts, and with b that is a quorum.
  a.rn.advanceAppend(rd);
  assert.is(a.rn.raft.trk.progress.get('a')!.match, index);
  assert.is(a.rn.raft.raftLog.committed, index);
});

test('two followers\' acks commit while the leader\'s own write is in flight', () => {
  const { a } = cluster();
  a.rn.propose(enc('x'));
  const rd = takeReady(a);
  const index = rd.entries[0].index;
  a.rn.step(ack('b', a, index));
  a.rn.step(ack('c', a, index));
  assert.is(a.rn.raft.raftLog.committed, index);
  assert.ok(a.rn.raft.trk.progress.get('a')!.match < index, 'self counted before its write finished');
  // The next Ready hands the committed entry out for applying, but not the entry to write again.
  const rd2 = a.rn.ready();
  assert.equal(rd2.entries, []);
  assert.equal(rd2.committedEntries.map((e) => e.index), [index]);
  assert.is(rd2.hardState?.commit, index);
  a.rn.advanceApply(index, rd2.committedEntries);
  a.rn.advanceAppend(rd);
  assert.is(a.rn.raft.raftLog.applied, index);
  assert.not.ok(a.rn.hasReady() && a.rn.ready().committedEntries.length > 0, 'an entry handed out twice');
});

test('Readys taken back to back carry each entry once (appends pipeline behind a write)', () => {
  const { a } = cluster();
  a.rn.propose(enc('1'));
  const rd1 = takeReady(a);
  a.rn.propose(enc('2'));
  const rd2 = takeReady(a);
  assert.equal(rd1.entries.map((e) => new TextDecoder().decode(e.data)), ['1']);
  assert.equal(rd2.entries.map((e) => new TextDecoder().decode(e.data)), ['2']);
  // The second proposal went out to the followers without waiting for the first write.
  assert.ok(rd2.messages.some((m) => m.type === MessageType.App && m.entries.some((e) => e.index === rd2.entries[0].index)));
  // Writes finish in order; the leader's match follows each.
  a.rn.advanceAppend(rd1);
  assert.is(a.rn.raft.trk.progress.get('a')!.match, rd1.entries[0].index);
  a.rn.advanceAppend(rd2);
  assert.is(a.rn.raft.trk.progress.get('a')!.match, rd2.entries[0].index);
  assert.equal(a.rn.raft.raftLog.unstable.entries, []);
});

test('a follower re-hands entries that replace ones whose write is in flight', () => {
  const { net } = cluster();
  const b = net.nodes.get('b')!;
  const term = b.rn.raft.term;
  const last = b.rn.raft.raftLog.lastIndex();
  const app = (entries: { index: number; term: number; data: string }[], prev: number, prevTerm: number): Message => ({
    type: MessageType.App, from: 'a', to: 'b', term, logTerm: prevTerm, index: prev,
    entries: entries.map((e) => ({ index: e.index, term: e.term, type: 0, data: enc(e.data) })), commit: 0, reject: false, rejectHint: 0,
  });
  const lastTerm = b.rn.raft.raftLog.term(last);
  b.rn.step(app([{ index: last + 1, term, data: 'old1' }, { index: last + 2, term, data: 'old2' }], last, lastTerm));
  const rd1 = takeReady(b);
  assert.is(rd1.entries.length, 2);
  // A conflicting append for last+2 from a later term while that write is in flight.
  b.rn.step({ ...app([{ index: last + 2, term: term + 1, data: 'new2' }], last + 1, term), term: term + 1 });
  const rd2 = takeReady(b);
  assert.equal(rd2.entries.map((e) => [e.index, new TextDecoder().decode(e.data)]), [[last + 2, 'new2']]);
  // The old write finishing does not mark the replacement stable; the new one does.
  b.rn.advanceAppend(rd1);
  assert.is(b.rn.raft.raftLog.unstable.offset <= last + 2, true);
  b.rn.advanceAppend(rd2);
  assert.is(b.rn.raft.raftLog.stableLastIndex(), last + 2);
  assert.is(b.rn.raft.raftLog.term(last + 2), term + 1);
});

test.run();
