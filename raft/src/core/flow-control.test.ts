/** Flow control: message size, the inflight window, probing, the uncommitted budget, Ready size. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ProposalDroppedError } from '../errors.ts';
import { MessageType, message } from '../types.ts';
import type { Message } from '../types.ts';
import { newTestNode, processReady, voters } from './test-network.ts';
import type { NodeOptions, TestNode } from './test-network.ts';

const base: NodeOptions = { preVote: false, checkQuorum: false };

/** Leader 'a' of (a b c), b and c caught up through the no-op, b in replicate state. */
function leader(opts: NodeOptions = {}): TestNode {
  const a = newTestNode('a', voters(['a', 'b', 'c']), { ...base, ...opts });
  a.rn.campaign();
  for (const id of ['b', 'c']) a.rn.step(message({ type: MessageType.VoteResp, from: id, to: 'a', term: 2 }));
  processReady(a);
  const noop = a.rn.raft.raftLog.lastIndex();
  for (const id of ['b', 'c']) a.rn.step(message({ type: MessageType.AppResp, from: id, to: 'a', term: 2, index: noop }));
  processReady(a);
  return a;
}

const apps = (ms: Message[], to = 'b') => ms.filter((m) => m.type === MessageType.App && m.to === to);

test('App messages carry at most maxSizePerMsg bytes of entries (but at least one entry)', () => {
  const a = leader({ maxSizePerMsg: 250 });
  const pr = a.rn.raft.trk.progress.get('b')!;
  // Hold b back, then let it catch up in one go.
  pr.becomeProbe();
  pr.msgAppFlowPaused = true;
  for (let i = 0; i < 10; i++) a.rn.propose(new Uint8Array(100));
  processReady(a);
  pr.msgAppFlowPaused = false;
  a.rn.raft.sendAppend('b');
  const [m] = apps(processReady(a));
  assert.is(m.entries.length, 2, '2 x 100 bytes fit, a third would not');
  const big = leader({ maxSizePerMsg: 10 });
  big.rn.propose(new Uint8Array(1000));
  const sent = apps(processReady(big));
  assert.is(sent[0].entries.length, 1, 'an entry larger than the limit still goes out alone');
});

test('replicate state pipelines up to maxInflightMsgs, then pauses until acks free the window', () => {
  const a = leader({ maxInflightMsgs: 3 });
  for (let i = 0; i < 5; i++) a.rn.propose(new Uint8Array([i]));
  const sent = apps(processReady(a));
  assert.is(sent.length, 3, 'three in flight, the rest held back');
  const pr = a.rn.raft.trk.progress.get('b')!;
  assert.ok(pr.isPaused());
  assert.is(pr.inflights.count, 3);
  // Acking the first frees one slot: the next entry goes out.
  a.rn.step(message({ type: MessageType.AppResp, from: 'b', to: 'a', term: 2, index: sent[0].entries[0].index }));
  const more = apps(processReady(a));
  assert.ok(more.length >= 1 && more[0].entries.length > 0);
});

test('probe state sends one App and waits for its answer', () => {
  const a = leader();
  const pr = a.rn.raft.trk.progress.get('b')!;
  pr.becomeProbe();
  a.rn.propose(new Uint8Array([1]));
  a.rn.propose(new Uint8Array([2]));
  const sent = apps(processReady(a));
  assert.is(sent.length, 1);
  assert.ok(pr.isPaused());
  a.rn.step(message({ type: MessageType.AppResp, from: 'b', to: 'a', term: 2, index: sent[0].index + sent[0].entries.length }));
  assert.is(pr.state, 'replicate', 'an ack moves the follower to replicate');
});

test('a heartbeat response unpauses a probing follower', () => {
  const a = leader();
  const pr = a.rn.raft.trk.progress.get('b')!;
  pr.becomeProbe();
  a.rn.propose(new Uint8Array([1]));
  processReady(a);
  assert.ok(pr.isPaused());
  a.rn.step(message({ type: MessageType.HeartbeatResp, from: 'b', to: 'a', term: 2 }));
  assert.is(apps(processReady(a)).length, 1, 'probe again');
});

test('a rejection with a hint moves next back in one step and returns to probe', () => {
  const a = leader();
  for (let i = 0; i < 5; i++) a.rn.propose(new Uint8Array([i]));
  processReady(a);
  const pr = a.rn.raft.trk.progress.get('b')!;
  // Suppose b never acknowledged anything: a probe at the last index is rejected with a hint
  // that b's log ends at its bootstrap entries (index 3, term 1).
  pr.match = 0;
  pr.becomeProbe();
  const last = a.rn.raft.raftLog.lastIndex();
  pr.next = last + 1;
  a.rn.step(message({ type: MessageType.AppResp, from: 'b', to: 'a', term: 2, index: last, reject: true, rejectHint: 3, logTerm: 1 }));
  const [m] = apps(processReady(a));
  assert.is(m.index, 3, 'probe right after the hint, skipping every index in between');
  assert.is(m.entries[0].index, 4);
  // A stale rejection (for an index no longer probed) changes nothing.
  a.rn.step(message({ type: MessageType.AppResp, from: 'b', to: 'a', term: 2, index: last, reject: true, rejectHint: 0 }));
  assert.is(pr.next, 4);
});

test('the leader drops proposals past maxUncommittedEntriesSize and frees the budget on commit', () => {
  const a = leader({ maxUncommittedEntriesSize: 100 });
  a.rn.propose(new Uint8Array(60));
  assert.throws(() => a.rn.propose(new Uint8Array(60)), (e: unknown) => e instanceof ProposalDroppedError && /uncommitted/.test((e as Error).message));
  const sent = apps(processReady(a));
  a.rn.step(message({ type: MessageType.AppResp, from: 'b', to: 'a', term: 2, index: sent[0].index + 1 }));
  processReady(a);
  a.rn.propose(new Uint8Array(60));
});

test('an entry larger than the budget is accepted when nothing is uncommitted', () => {
  const a = leader({ maxUncommittedEntriesSize: 10 });
  a.rn.propose(new Uint8Array(50));
});

test('committed entries per Ready are bounded by maxCommittedSizePerReady', () => {
  const a = leader({ maxCommittedSizePerReady: 150 });
  for (let i = 0; i < 4; i++) a.rn.propose(new Uint8Array(100));
  processReady(a);
  const last = a.rn.raft.raftLog.lastIndex();
  a.rn.step(message({ type: MessageType.AppResp, from: 'b', to: 'a', term: 2, index: last }));
  const sizes: number[] = [];
  while (a.rn.hasReady()) {
    const rd = a.rn.ready();
    if (rd.committedEntries.length) sizes.push(rd.committedEntries.length);
    a.storage.append(rd.entries);
    a.rn.advance(rd);
  }
  assert.equal(sizes, [1, 1, 1, 1]);
});

test('many proposals batch into one App per follower', () => {
  const a = leader({ maxInflightMsgs: 1 });
  const pr = a.rn.raft.trk.progress.get('b')!;
  a.rn.propose(new Uint8Array([0]));
  for (let i = 1; i < 20; i++) a.rn.propose(new Uint8Array([i]));
  const first = apps(processReady(a));
  assert.is(first.length, 1);
  a.rn.step(message({ type: MessageType.AppResp, from: 'b', to: 'a', term: 2, index: first[0].index + 1 }));
  const [batch] = apps(processReady(a));
  assert.is(batch.entries.length, 19, 'the held-back proposals go out together');
  assert.is(pr.inflights.count, 1);
});

test.run();
