/**
 * `lazyCommit`: the leader does not send an empty append to every follower each time its
 * commit index moves; followers learn it with the next append, or at the leader's next tick.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MessageType } from '../types.ts';
import { Network } from './test-network.ts';

const opts = { preVote: true, checkQuorum: true, lazyCommit: true };

test('with lazyCommit a write costs one append per follower; its commit rides on the next', () => {
  const net = new Network(['a', 'b', 'c'], opts);
  net.campaign('a');
  net.delivered.length = 0;
  net.propose('a', 'x');
  const apps = net.delivered.filter((m) => m.type === MessageType.App);
  assert.is(apps.length, 2, 'one append per follower, no commit-only one');
  const index = net.rn('a').raft.raftLog.committed;
  assert.equal(net.appliedData('a'), ['x']);
  assert.ok(net.rn('b').raft.raftLog.committed < index, 'the follower heard the commit early');
  // The next write's append carries the commit of the previous one.
  net.propose('a', 'y');
  assert.ok(net.rn('b').raft.raftLog.committed >= index);
  assert.ok(net.appliedData('b').includes('x'));
});

test('with lazyCommit an idle leader tells the followers its commit at the next tick', () => {
  const net = new Network(['a', 'b', 'c'], opts);
  net.campaign('a');
  net.propose('a', 'x');
  const index = net.rn('a').raft.raftLog.committed;
  assert.ok(net.rn('c').raft.raftLog.committed < index);
  net.rn('a').tick();
  net.stabilize();
  for (const id of ['b', 'c']) {
    assert.is(net.rn(id).raft.raftLog.committed, index);
    assert.equal(net.appliedData(id), ['x']);
  }
  // Nothing more to tell: the next tick sends no append.
  net.delivered.length = 0;
  net.rn('a').tick();
  net.stabilize();
  assert.not.ok(net.delivered.some((m) => m.type === MessageType.App));
});

test('without lazyCommit the leader sends the commit at once (etcd)', () => {
  const net = new Network(['a', 'b', 'c'], { preVote: true, checkQuorum: true });
  net.campaign('a');
  net.propose('a', 'x');
  for (const id of ['b', 'c']) assert.equal(net.appliedData(id), ['x']);
});

test.run();
