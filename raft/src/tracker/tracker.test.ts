import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Inflights } from './inflights.ts';
import { PeerProgress, cloneProgress } from './progress.ts';
import { ProgressTracker } from './tracker.ts';
import { JointConfig, MajorityConfig, VoteResult } from '../quorum/quorum.ts';

test('inflights fills to capacity and wraps around the ring', () => {
  const inf = new Inflights(4);
  for (let i = 1; i <= 4; i++) inf.add(i * 10);
  assert.ok(inf.full());
  inf.freeLE(20);
  assert.is(inf.count, 2);
  assert.not.ok(inf.full());
  inf.add(50);
  inf.add(60);
  assert.ok(inf.full());
  assert.equal(inf.toArray(), [30, 40, 50, 60]);
  inf.freeLE(55);
  assert.equal(inf.toArray(), [60]);
  inf.freeLE(5);
  assert.equal(inf.toArray(), [60], 'freeing below the first index frees nothing');
  inf.freeLE(100);
  assert.is(inf.count, 0);
});

test('inflights is full once its byte budget is used', () => {
  const inf = new Inflights(10, 100);
  inf.add(1, 60);
  assert.not.ok(inf.full());
  inf.add(2, 40);
  assert.ok(inf.full());
  inf.freeLE(1);
  assert.is(inf.bytes, 40);
  assert.not.ok(inf.full());
  assert.throws(() => {
    const small = new Inflights(1);
    small.add(1);
    small.add(2);
  }, /full inflights/);
});

test('progress in probe pauses after one send until answered', () => {
  const pr = new PeerProgress({ next: 5, maxInflight: 4 });
  assert.not.ok(pr.isPaused());
  pr.sentEntries(2, 6, 0);
  assert.ok(pr.isPaused());
  assert.is(pr.next, 5, 'probe does not move next optimistically');
  assert.ok(pr.maybeUpdate(6));
  assert.not.ok(pr.isPaused());
  assert.is(pr.next, 7);
});

test('progress in replicate moves next optimistically and pauses when the window is full', () => {
  const pr = new PeerProgress({ next: 1, maxInflight: 2 });
  pr.becomeReplicate();
  pr.sentEntries(3, 3, 0);
  assert.is(pr.next, 4);
  assert.not.ok(pr.isPaused());
  pr.sentEntries(2, 5, 0);
  assert.ok(pr.isPaused());
  pr.maybeUpdate(3);
  pr.inflights.freeLE(3);
  assert.not.ok(pr.inflights.full());
});

test('progress maybeDecrTo ignores stale rejections and uses the hint in probe', () => {
  const pr = new PeerProgress({ next: 10, maxInflight: 4 });
  assert.not.ok(pr.maybeDecrTo(5, 5), 'stale: not the index probed');
  assert.ok(pr.maybeDecrTo(9, 3));
  assert.is(pr.next, 4);
  const rp = new PeerProgress({ next: 1, match: 5, maxInflight: 4 });
  rp.becomeReplicate();
  rp.sentEntries(3, 8, 0);
  assert.not.ok(rp.maybeDecrTo(4, 4), 'rejection at or below match is stale');
  assert.ok(rp.maybeDecrTo(7, 7));
  assert.is(rp.next, 6);
});

test('progress leaves snapshot state probing just past the snapshot', () => {
  const pr = new PeerProgress({ next: 3, match: 2, maxInflight: 4 });
  pr.becomeSnapshot(20);
  assert.ok(pr.isPaused());
  pr.becomeProbe();
  assert.is(pr.next, 21);
  assert.is(pr.pendingSnapshot, 0);
});

test('tracker commits the quorum index and counts votes of voters only', () => {
  const t = new ProgressTracker(4);
  t.config.voters = new JointConfig(new MajorityConfig(['a', 'b', 'c']));
  t.config.learners = new Set(['d']);
  for (const id of ['a', 'b', 'c']) t.progress.set(id, new PeerProgress({ next: 1, maxInflight: 4 }));
  t.progress.set('d', new PeerProgress({ next: 1, maxInflight: 4, isLearner: true }));
  t.progress.get('a')!.match = 7;
  t.progress.get('b')!.match = 5;
  t.progress.get('d')!.match = 9;
  assert.is(t.committed(), 5);
  t.recordVote('a', true);
  t.recordVote('d', true);
  t.recordVote('a', false);
  assert.equal(t.tallyVotes(), { granted: 1, rejected: 0, result: VoteResult.Pending });
  t.recordVote('b', true);
  assert.is(t.tallyVotes().result, VoteResult.Won);
  assert.equal(t.confState(), { voters: ['a', 'b', 'c'], votersOutgoing: [], learners: ['d'], learnersNext: [], autoLeave: false });
});

test('tracker quorumActive looks at recently active voters', () => {
  const t = new ProgressTracker(4);
  t.config.voters = new JointConfig(new MajorityConfig(['a', 'b', 'c']));
  for (const id of ['a', 'b', 'c']) t.progress.set(id, new PeerProgress({ next: 1, maxInflight: 4 }));
  t.progress.get('a')!.recentActive = true;
  assert.not.ok(t.quorumActive());
  t.progress.get('c')!.recentActive = true;
  assert.ok(t.quorumActive());
});

test('progress can bump the follower commit only until it has been sent up to next - 1', () => {
  const pr = new PeerProgress({ next: 6, match: 5, maxInflight: 4 });
  assert.ok(pr.canBumpCommit(5));
  pr.sentCommit = 5;
  assert.not.ok(pr.canBumpCommit(5), 'already sent');
  assert.not.ok(pr.canBumpCommit(6), 'the follower cannot commit past what it has');
  pr.sentCommit = 3;
  assert.ok(pr.canBumpCommit(5));
});

test('going back to probing rolls the sent commit back to next - 1, so the commit is sent again', () => {
  const pr = new PeerProgress({ next: 4, match: 3, maxInflight: 4 });
  pr.becomeReplicate();
  pr.sentEntries(6, 9, 60);
  pr.sentCommit = 9;
  assert.not.ok(pr.canBumpCommit(9));
  pr.becomeProbe(); // e.g. the follower became unreachable: entries 4..9 may never have arrived
  assert.is(pr.next, 4);
  assert.is(pr.sentCommit, 3);
  pr.maybeUpdate(9);
  assert.ok(pr.canBumpCommit(9), 'the follower caught up: its commit must be bumped again');

  const rejected = new PeerProgress({ next: 10, match: 2, maxInflight: 4 });
  rejected.sentCommit = 9;
  assert.ok(rejected.maybeDecrTo(9, 4));
  assert.is(rejected.next, 5);
  assert.is(rejected.sentCommit, 4);
});

test('cloned progress shares nothing with the original', () => {
  const pr = new PeerProgress({ next: 1, maxInflight: 4 });
  pr.becomeReplicate();
  pr.sentEntries(2, 2, 10);
  const c = cloneProgress(pr);
  c.inflights.freeLE(2);
  c.match = 2;
  assert.is(pr.inflights.count, 1);
  assert.is(pr.match, 0);
  assert.equal(c.inflights.toArray(), []);
  assert.is(c.state, 'replicate');
});

test.run();
