/** RawNode: the Ready contract, proposal forwarding and its errors, restart from storage. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfChangeError, NotLeaderError, ProposalDroppedError } from '../errors.ts';
import { MemoryStorage } from '../memory-storage.ts';
import { ConfChangeType, EntryType, MessageType, StateRole, message } from '../types.ts';
import { RawNode } from './raw-node.ts';
import { Network, processReady, seededRand, voters } from './test-network.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const opts = { preVote: true, checkQuorum: true };

test('a follower forwards proposals to the leader', () => {
  const net = new Network(['a', 'b', 'c'], opts);
  net.campaign('a');
  net.propose('c', 'from-c');
  assert.ok(net.delivered.some((m) => m.type === MessageType.Prop && m.from === 'c' && m.to === 'a'));
  for (const id of ['a', 'b', 'c']) assert.equal(net.appliedData(id), ['from-c']);
});

test('with forwarding disabled a follower refuses with NotLeaderError naming the leader', () => {
  const net = new Network(['a', 'b', 'c'], { ...opts, disableProposalForwarding: true });
  net.campaign('a');
  let err: unknown;
  try {
    net.rn('b').propose(enc('x'));
  } catch (e) {
    err = e;
  }
  assert.instance(err, NotLeaderError);
  assert.is((err as NotLeaderError).leader, 'a');
  assert.match((err as Error).message, /leader is a/);
  assert.is((err as NotLeaderError).name, 'NotLeaderError');
});

test('without a leader a proposal is dropped with a retryable error', () => {
  const net = new Network(['a', 'b', 'c'], opts);
  assert.throws(() => net.rn('a').propose(enc('x')), (e: unknown) => e instanceof ProposalDroppedError && e.retryable);
  net.rn('a').campaign();
  assert.is(net.rn('a').raft.state, StateRole.PreCandidate);
  assert.throws(() => net.rn('a').propose(enc('x')), (e: unknown) => e instanceof ProposalDroppedError);
});

test('a forwarded proposal the leader cannot take is dropped silently', () => {
  const net = new Network(['a', 'b', 'c'], opts);
  net.campaign('a');
  net.rn('a').transferLeader('b');
  // A Prop from the network does not throw out of step().
  net.rn('a').step(message({ type: MessageType.Prop, from: 'c', to: 'a', entries: [{ term: 0, index: 0, type: EntryType.Normal, data: enc('x') }] }));
});

test('a malformed forwarded proposal is dropped, not thrown at the transport', () => {
  const net = new Network(['a', 'b', 'c'], opts);
  net.campaign('a');
  const last = net.rn('a').raft.raftLog.lastIndex();
  net.rn('a').step(message({ type: MessageType.Prop, from: 'c', to: 'a', entries: [] }));
  net.rn('a').step(message({ type: MessageType.Prop, from: 'c', to: 'a', entries: [{ term: 0, index: 0, type: EntryType.ConfChange, data: enc('{not json') }] }));
  assert.is(net.rn('a').raft.raftLog.lastIndex(), last);
  assert.throws(() => net.rn('a').proposeConfChange({ changes: [{ type: 1, nodeId: 'zz' }, { type: 1, nodeId: 'a' }, { type: 1, nodeId: 'b' }, { type: 1, nodeId: 'c' }] }), /removed all voters/, 'a local invalid change throws ConfChangeError');
});

test('step refuses local message types', () => {
  const net = new Network(['a'], opts);
  for (const type of [MessageType.Hup, MessageType.Beat, MessageType.CheckQuorum, MessageType.Unreachable, MessageType.SnapStatus]) {
    assert.throws(() => net.rn('a').step(message({ type, from: 'b', to: 'a' })), /local message/);
  }
});

test('Ready hands out hard state, entries and messages once, and mustSync only when needed', () => {
  const storage = new MemoryStorage({ confState: voters(['a', 'b']) });
  const rn = new RawNode({ id: 'a', storage, electionTick: 10, heartbeatTick: 1, rand: seededRand(3), ...opts });
  assert.ok(rn.hasReady(), 'bootstrap entries to persist');
  let rd = rn.ready();
  assert.equal(rd.entries.map((e) => [e.index, e.term, e.type]), [[1, 1, EntryType.ConfChange], [2, 1, EntryType.ConfChange]]);
  assert.equal(rd.committedEntries.map((e) => e.index), [1, 2]);
  assert.equal(rd.hardState, { term: 1, vote: '', commit: 2 });
  assert.ok(rd.mustSync);
  storage.append(rd.entries);
  storage.setHardState(rd.hardState!);
  rn.advance(rd);
  assert.not.ok(rn.hasReady());
  rn.campaign();
  rd = rn.ready();
  assert.equal(rd.softState, { lead: '', role: StateRole.PreCandidate });
  assert.equal(rd.messages.map((m) => [m.type, m.to]), [[MessageType.PreVote, 'b']]);
  assert.is(rd.hardState, undefined, 'a pre-vote changes no hard state');
  assert.not.ok(rd.mustSync);
  rn.advance(rd);
  rn.step(message({ type: MessageType.PreVoteResp, from: 'b', to: 'a', term: 2 }));
  rd = rn.ready();
  assert.equal(rd.hardState, { term: 2, vote: 'a', commit: 2 });
  assert.ok(rd.mustSync, 'term and vote must be durable before the vote request goes out');
  assert.equal(rd.messages.map((m) => [m.type, m.term]), [[MessageType.Vote, 2]]);
  rn.advance(rd);
  assert.not.ok(rn.hasReady());
});

test('a leader counts its own entry only once persisted (advance)', () => {
  const net = new Network(['a'], opts);
  const a = net.node('a');
  a.rn.campaign();
  const rd = a.rn.ready();
  assert.equal(rd.entries.map((e) => e.index), [2], 'the no-op');
  assert.equal(rd.committedEntries, [], 'not committed before it is persisted');
  a.storage.append(rd.entries);
  a.storage.setHardState(rd.hardState!);
  a.rn.advance(rd);
  const rd2 = a.rn.ready();
  assert.equal(rd2.committedEntries.map((e) => e.index), [2]);
  a.rn.advance(rd2);
});

test('a restarted node re-applies committed entries past `applied` and keeps its term and vote', () => {
  const net = new Network(['a', 'b', 'c'], opts);
  net.campaign('a');
  net.propose('a', 'x');
  net.propose('a', 'y');
  const old = net.node('b');
  const hs = old.storage.initialState().hardState;
  const restarted = new RawNode({ id: 'b', storage: old.storage, electionTick: 10, heartbeatTick: 1, rand: seededRand(9), applied: hs.commit - 1, ...opts });
  assert.equal(restarted.status().hardState, hs);
  const rd = restarted.ready();
  assert.equal(rd.committedEntries.map((e) => new TextDecoder().decode(e.data)), ['y']);
  assert.is(rd.hardState, undefined, 'nothing new to persist');
  assert.equal(restarted.status().confState.voters, ['a', 'b', 'c']);
});

test('status reports progress on the leader only', () => {
  const net = new Network(['a', 'b', 'c'], opts);
  net.campaign('a');
  const s = net.rn('a').status();
  assert.equal([...s.progress.keys()], ['a', 'b', 'c']);
  assert.equal(s.progress.get('b'), { match: 4, next: 5, state: 'replicate', isLearner: false, recentActive: true });
  assert.equal(s.softState, { lead: 'a', role: StateRole.Leader });
  assert.is(net.rn('b').status().progress.size, 0);
});

test('reportUnreachable moves a replicating follower back to probe', () => {
  const net = new Network(['a', 'b', 'c'], opts);
  net.campaign('a');
  net.rn('a').reportUnreachable('b');
  assert.is(net.rn('a').status().progress.get('b')!.state, 'probe');
});

test('an invalid committed conf change is ignored alike everywhere', () => {
  const net = new Network(['a'], opts);
  net.campaign('a');
  const cs = net.rn('a').applyConfChange({ changes: [{ type: 1, nodeId: 'a' }] });
  assert.equal(cs.voters, ['a'], 'removing the last voter is refused');
});

test('a node sees its bootstrap entries only once, and a joiner replays them', () => {
  const net = new Network(['a', 'b'], opts);
  net.campaign('a');
  const a = net.node('a');
  assert.equal(a.applied.filter((e) => e.type === EntryType.ConfChange).map((e) => e.index), [1, 2]);
  assert.is(processReady(a).length, 0);
});

test('applying a conf change the configuration cannot take reports it ignored and changes nothing', () => {
  const net = new Network(['a'], {});
  net.campaign('a');
  const r = net.rn('a').applyConfChangeResult({ changes: [{ type: ConfChangeType.RemoveNode, nodeId: 'a' }] });
  assert.instance(r.ignored, ConfChangeError);
  assert.match(r.ignored!.message, 'removed all voters');
  assert.equal(r.confState.voters, ['a']);
  const ok = net.rn('a').applyConfChangeResult({ changes: [{ type: ConfChangeType.AddLearner, nodeId: 'l' }] });
  assert.is(ok.ignored, undefined);
  assert.equal(ok.confState.learners, ['l']);
});

test.run();
