/** ReadIndex (thesis §6.4, ReadOnlySafe): a heartbeat quorum confirms leadership before a read. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MessageType, message } from '../types.ts';
import { Network, processReady } from './test-network.ts';

const opts = { preVote: true, checkQuorum: true };
const ctx = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

function cluster(ids = ['a', 'b', 'c']): Network {
  const net = new Network(ids, opts);
  net.campaign(ids[0]);
  return net;
}

test('leader answers a read once a heartbeat quorum confirms it, at its commit index', () => {
  const net = cluster();
  net.propose('a', 'x');
  const reads = net.node('a').readStates;
  net.rn('a').readIndex(ctx('r1'));
  const hb = net.rn('a').raft.msgs.filter((m) => m.type === MessageType.Heartbeat);
  assert.is(hb.length, 2);
  assert.ok(hb.every((m) => str(m.context!) === 'r1'), 'heartbeats carry the request context');
  net.stabilize();
  assert.equal(reads.map((r) => [r.index, str(r.requestCtx)]), [[net.rn('a').raft.raftLog.committed, 'r1']]);
});

test('a leader cut off from the quorum never answers a read', () => {
  const net = cluster();
  const reads = net.node('a').readStates;
  net.isolate('a');
  net.rn('a').readIndex(ctx('stale'));
  net.tickAll(5);
  assert.equal(reads, []);
});

test('follower forwards a read to the leader and gets the read index back', () => {
  const net = cluster();
  net.propose('a', 'x');
  const reads = net.node('c').readStates;
  net.rn('c').readIndex(ctx('from-c'));
  net.stabilize();
  assert.ok(net.delivered.some((m) => m.type === MessageType.ReadIndex && m.from === 'c' && m.to === 'a'));
  assert.equal(reads.map((r) => [r.index, str(r.requestCtx)]), [[net.rn('a').raft.raftLog.committed, 'from-c']]);
});

test('a read forwarded twice is answered to the node that asked, not to the one in between', () => {
  const net = cluster();
  net.propose('a', 'x');
  const b = net.node('b');
  const c = net.node('c');
  // c took b for the leader (b led before): b forwards c's request to a.
  net.send(message({ type: MessageType.ReadIndex, from: 'c', to: 'b', context: ctx('from-c') }));
  net.stabilize();
  const fwd = net.delivered.find((m) => m.type === MessageType.ReadIndex && m.to === 'a')!;
  assert.is(fwd.from, 'b', 'a forwarded message names its real sender');
  assert.equal(c.readStates.map((r) => [r.index, str(r.requestCtx)]), [[net.rn('a').raft.raftLog.committed, 'from-c']]);
  assert.equal(b.readStates, []);
});

test('a new leader defers reads until it has committed an entry of its term', () => {
  const net = new Network(['a', 'b', 'c'], opts);
  net.ignore(MessageType.AppResp);
  net.campaign('a');
  const reads = net.node('a').readStates;
  net.rn('a').readIndex(ctx('early'));
  net.stabilize();
  assert.equal(reads, [], 'held back: the commit index of a new leader may be stale');
  assert.is(net.rn('a').raft.pendingReadIndexMessages.length, 1);
  net.recover();
  net.tickAll(1);
  assert.equal(reads.map((r) => str(r.requestCtx)), ['early']);
  assert.ok(reads[0].index >= net.rn('a').raft.raftLog.committed - 1);
});

test('a single-voter leader answers reads at once', () => {
  const net = new Network(['a'], opts);
  net.campaign('a');
  const a = net.node('a');
  net.rn('a').readIndex(ctx('solo'));
  processReady(a);
  assert.equal(a.readStates.map((r) => str(r.requestCtx)), ['solo']);
});

test('a single voter answers a read only once it has committed an entry of its term', () => {
  const net = new Network(['a'], opts);
  const a = net.node('a');
  // Leader at once (a single voter wins its own vote), its no-op not yet persisted.
  net.rn('a').campaign();
  assert.is(net.rn('a').raft.state, 'leader');
  const noop = net.rn('a').raft.raftLog.lastIndex();
  assert.ok(net.rn('a').raft.raftLog.committed < noop, 'the no-op is not committed yet');
  net.rn('a').readIndex(ctx('restarted'));
  assert.equal(a.readStates, [], 'a restarted single voter may hold a stale commit index');
  processReady(a); // persists the no-op: it commits
  processReady(a);
  assert.equal(a.readStates.map((r) => [r.index, str(r.requestCtx)]), [[noop, 'restarted']]);
});

test('one heartbeat round confirms every read queued before it', () => {
  const net = cluster();
  const reads = net.node('a').readStates;
  net.rn('a').readIndex(ctx('r1'));
  net.rn('a').readIndex(ctx('r2'));
  net.stabilize();
  assert.equal(reads.map((r) => str(r.requestCtx)), ['r1', 'r2']);
});

test('a follower without a leader drops the read', () => {
  const net = new Network(['a', 'b', 'c'], opts);
  const reads = net.node('b').readStates;
  net.rn('b').readIndex(ctx('nobody'));
  net.stabilize();
  assert.equal(reads, []);
});

test.run();
