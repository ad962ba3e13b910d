import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfChangeType, type ConfChange, type ConfState, type NodeId } from '../types.ts';
import { Network, type TestNode } from './test-network.ts';

// The tracker keeps its sorted member IDs between visits (tracker.ts `visit`). Every path
// that changes the membership must be seen by the next visit: a stale list would skip a new
// member (no appends sent to it) or visit a removed one. The snapshot's same-size swap is
// the case a size check alone would miss.

const visited = (n: TestNode): NodeId[] => {
  const ids: NodeId[] = [];
  n.rn.raft.trk.visit((id) => ids.push(id));
  return ids;
};
const members = (cs: ConfState): NodeId[] => [...new Set([...cs.voters, ...cs.votersOutgoing, ...cs.learners, ...cs.learnersNext])].sort();
const { AddNode, RemoveNode, AddLearner } = ConfChangeType;

/** Applies `cc` on the leader `a` and checks its next visit sees exactly the new members. */
function change(a: TestNode, cc: ConfChange, want: NodeId[]): void {
  visited(a); // the IDs as they were, kept
  const cs = a.rn.applyConfChange(cc);
  assert.equal(members(cs), want, 'the configuration changed as expected');
  assert.equal(visited(a), want, `visit after ${JSON.stringify(cc.changes)} sees the new members`);
}

test('visit sees every membership change: simple, learner, promotion, joint enter and leave', () => {
  const net = new Network(['a', 'b', 'c'], {});
  net.campaign('a');
  const a = net.node('a');
  assert.equal(visited(a), ['a', 'b', 'c']);
  change(a, { changes: [{ type: AddNode, nodeId: 'd' }] }, ['a', 'b', 'c', 'd']);
  change(a, { changes: [{ type: AddLearner, nodeId: 'e' }] }, ['a', 'b', 'c', 'd', 'e']);
  change(a, { changes: [{ type: AddNode, nodeId: 'e' }] }, ['a', 'b', 'c', 'd', 'e']); // learner promoted
  change(a, { changes: [{ type: RemoveNode, nodeId: 'e' }] }, ['a', 'b', 'c', 'd']);
  // Voter d out, learner f in: joint (d outgoing) with autoLeave, then left.
  change(a, { changes: [{ type: RemoveNode, nodeId: 'd' }, { type: AddLearner, nodeId: 'f' }] }, ['a', 'b', 'c', 'd', 'f']);
  change(a, { changes: [] }, ['a', 'b', 'c', 'f']);
  // Joint: c leaves, g joins; then leave it explicitly.
  change(a, { changes: [{ type: RemoveNode, nodeId: 'c' }, { type: AddNode, nodeId: 'g' }], transition: 'joint-explicit' }, ['a', 'b', 'c', 'f', 'g']);
  change(a, { changes: [] }, ['a', 'b', 'f', 'g']);
  // Joint with a voter demoted: it stays as an outgoing voter and a next learner; leaving makes it a learner.
  change(a, { changes: [{ type: AddLearner, nodeId: 'b' }], transition: 'joint-explicit' }, ['a', 'b', 'f', 'g']);
  change(a, { changes: [] }, ['a', 'b', 'f', 'g']);
  assert.equal(a.rn.raft.trk.confState().learners, ['b', 'f']);
});

test('visit sees the membership of a restored snapshot, the same size with other IDs', () => {
  const net = new Network(['a', 'b', 'c'], {});
  net.campaign('a');
  const b = net.node('b');
  assert.equal(visited(b), ['a', 'b', 'c']);
  const last = b.rn.raft.raftLog.lastIndex();
  const confState: ConfState = { voters: ['a', 'b', 'd'], votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false };
  assert.ok(b.rn.raft.restore({ metadata: { index: last + 5, term: b.rn.raft.term, confState }, data: new Uint8Array() }));
  assert.equal(visited(b), ['a', 'b', 'd']);
});

test.run();
