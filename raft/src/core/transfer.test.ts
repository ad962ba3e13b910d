/** Leadership transfer (thesis §3.10): catch the transferee up, then TimeoutNow. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ProposalDroppedError } from '../errors.ts';
import { ConfChangeType, MessageType, StateRole } from '../types.ts';
import { Network, newTestNode, voters } from './test-network.ts';

const opts = { preVote: true, checkQuorum: true };

function cluster(): Network {
  const net = new Network(['a', 'b', 'c'], opts);
  net.campaign('a');
  return net;
}

test('transfer to an up-to-date follower sends TimeoutNow at once and it wins', () => {
  const net = cluster();
  const term = net.rn('a').raft.term;
  net.rn('a').transferLeader('b');
  net.stabilize();
  assert.is(net.leader(), 'b');
  assert.is(net.rn('b').raft.term, term + 1);
  assert.is(net.rn('a').raft.state, StateRole.Follower);
  assert.ok(net.delivered.some((m) => m.type === MessageType.TimeoutNow && m.to === 'b'));
  assert.not.ok(net.delivered.some((m) => m.type === MessageType.PreVote && m.from === 'b'), 'a transfer skips the pre-vote');
});

test('transfer to a lagging follower catches it up first', () => {
  const net = cluster();
  net.isolate('c');
  for (let i = 0; i < 5; i++) net.propose('a', `v${i}`);
  net.recover();
  net.rn('a').transferLeader('c');
  assert.is(net.rn('a').status().leadTransferee, 'c');
  const sent = net.rn('a').raft.msgs;
  assert.ok(sent.some((m) => m.type === MessageType.App && m.to === 'c'), 'first an App');
  assert.not.ok(sent.some((m) => m.type === MessageType.TimeoutNow));
  net.stabilize();
  assert.is(net.leader(), 'c');
  assert.equal(net.appliedData('c').slice(0, 5), ['v0', 'v1', 'v2', 'v3', 'v4']);
});

test('proposals are dropped while a transfer is in progress', () => {
  const net = cluster();
  net.isolate('c');
  net.rn('a').transferLeader('c');
  assert.throws(() => net.rn('a').propose(new Uint8Array([1])), (e: unknown) => e instanceof ProposalDroppedError && /transfer/.test((e as Error).message));
});

test('a transfer that does not finish within an election timeout is aborted', () => {
  const net = cluster();
  net.isolate('c');
  net.rn('a').transferLeader('c');
  // Keep b talking to a so that CheckQuorum does not depose it meanwhile.
  net.tickAll(10);
  assert.is(net.rn('a').status().leadTransferee, '');
  assert.is(net.leader(), 'a');
  net.rn('a').propose(new Uint8Array([1]));
});

test('transfer to self, to a learner, or to an unknown node is ignored', () => {
  const net = cluster();
  net.add(newTestNode('d', voters([]), opts));
  net.rn('a').proposeConfChange({ changes: [{ type: ConfChangeType.AddLearner, nodeId: 'd' }] });
  net.stabilize();
  for (const to of ['a', 'd', 'zz']) {
    net.rn('a').transferLeader(to);
    net.stabilize();
    assert.is(net.leader(), 'a', to);
    assert.is(net.rn('a').status().leadTransferee, '', to);
  }
});

test('a follower forwards a transfer request to the leader', () => {
  const net = cluster();
  net.rn('c').transferLeader('c');
  net.stabilize();
  assert.is(net.leader(), 'c');
});

test('a second transfer to another node replaces the first', () => {
  const net = cluster();
  net.isolate('b');
  net.propose('a', 'x');
  net.rn('a').transferLeader('b');
  net.stabilize();
  assert.is(net.rn('a').status().leadTransferee, 'b', 'waiting for b to catch up');
  net.recover();
  net.rn('a').transferLeader('c');
  net.stabilize();
  assert.is(net.leader(), 'c');
});

test('removing the transferee aborts the transfer', () => {
  const net = cluster();
  net.propose('a', 'x');
  net.isolate('c');
  net.rn('a').proposeConfChange({ changes: [{ type: ConfChangeType.RemoveNode, nodeId: 'c' }] });
  net.rn('a').transferLeader('c');
  // The transfer blocks proposals but not the pending conf change, which commits with a and b.
  net.stabilize();
  assert.equal(net.rn('a').status().confState.voters, ['a', 'b']);
  assert.is(net.rn('a').status().leadTransferee, '');
});

test.run();
