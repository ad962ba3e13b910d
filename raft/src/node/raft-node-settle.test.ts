/**
 * Every request settles: a membership change or proposal whose entry loses its slot (to the
 * next leader's no-op, to a shorter log, to a snapshot) or never commits fails retryably
 * instead of holding its caller, and the next membership change can go ahead.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfChangeError } from '../errors.ts';
import { ConfChangeType } from '../types.ts';
import { LeaderChangedError, RequestTimeoutError } from './errors.ts';
import { TestCluster, enc, type Member } from './test-cluster.ts';

const ABC = ['a', 'b', 'c'];

function track<T>(p: Promise<T>): { done: boolean; value?: T; error?: unknown } {
  const t: { done: boolean; value?: T; error?: unknown } = { done: false };
  p.then((v) => Object.assign(t, { done: true, value: v }), (e: unknown) => Object.assign(t, { done: true, error: e }));
  return t;
}

/** Isolates the leader, runs `act` on it, and waits for the others to elect a new one. */
async function isolateLeader(c: TestCluster, act: (old: Member) => void): Promise<{ old: Member; l2: Member }> {
  const old = await c.leader();
  await c.advance(200);
  c.net.isolate(old.id);
  act(old);
  await c.advance(100);
  const others = ABC.filter((id) => id !== old.id);
  await c.waitFor(() => others.some((id) => c.get(id).node.isLeader), 'a new leader');
  return { old, l2: c.get(others.find((id) => c.get(id).node.isLeader)!) };
}

const t = suite('RaftNode: requests settle');

t('a membership change whose slot the next leader\'s no-op takes fails retryably, and the next one goes ahead', async () => {
  const c = new TestCluster(31);
  try {
    await c.startAll(ABC);
    let change!: ReturnType<typeof track>;
    const { old } = await isolateLeader(c, (o) => (change = track(o.node.addLearner('d', 'addr-d'))));
    assert.is(change.done, false);
    c.net.heal();
    await c.waitFor(() => change.done, 'the change settles');
    assert.instance(change.error, LeaderChangedError);
    assert.is((change.error as LeaderChangedError).retryable, true);
    // Not wedged: the next change on the same node is proposed and applied.
    const l = await c.leader();
    const next = track(l.node.addLearner('e', 'addr-e'));
    await c.waitFor(() => next.done, 'the next change');
    assert.is(next.error, undefined);
    assert.ok(old.node.status().confState.learners.length <= 1);
  } finally {
    await c.stopAll();
  }
});

t('a proposal cut off the end of the log (the new leader\'s log is shorter) fails retryably', async () => {
  const c = new TestCluster(32);
  try {
    await c.startAll(ABC);
    let first!: ReturnType<typeof track>;
    let second!: ReturnType<typeof track>;
    await isolateLeader(c, (o) => {
      first = track(o.node.propose(enc('lost1')));
      second = track(o.node.propose(enc('lost2')));
    });
    c.net.heal();
    await c.waitFor(() => first.done && second.done, 'both proposals settle', 3000);
    assert.instance(first.error, LeaderChangedError);
    assert.instance(second.error, LeaderChangedError);
  } finally {
    await c.stopAll();
  }
});

t('a membership change a received snapshot covers fails retryably', async () => {
  const c = new TestCluster(33, { snapshotEvery: 2, snapshotTrailing: 0 });
  try {
    await c.startAll(ABC);
    let change!: ReturnType<typeof track>;
    const { l2 } = await isolateLeader(c, (o) => (change = track(o.node.addLearner('d', 'addr-d'))));
    for (let i = 0; i < 6; i++) await l2.node.propose(enc(`w${i}`));
    c.net.heal();
    await c.waitFor(() => change.done, 'the change settles', 3000);
    assert.instance(change.error, LeaderChangedError);
    assert.is((change.error as LeaderChangedError).retryable, true);
  } finally {
    await c.stopAll();
  }
});

t('a proposal in the log of a leader that never regains a quorum times out, outcome unknown', async () => {
  const c = new TestCluster(34, { requestTimeoutMs: 2000 });
  try {
    await c.startAll(ABC);
    let p!: ReturnType<typeof track>;
    let change!: ReturnType<typeof track>;
    await isolateLeader(c, (o) => {
      p = track(o.node.propose(enc('stuck')));
      change = track(o.node.changeMembership({ changes: [{ type: ConfChangeType.AddLearner, nodeId: 'x' }], context: 'addr-x' }));
    });
    await c.waitFor(() => p.done && change.done, 'both settle', 5000);
    assert.instance(p.error, RequestTimeoutError);
    assert.is((p.error as RequestTimeoutError).outcomeUnknown, true);
    assert.instance(change.error, Error);
    assert.is((change.error as { retryable?: boolean }).retryable, true);
  } finally {
    await c.stopAll();
  }
});

t('a membership change the core ignores as invalid is reported to its proposer as a failure', async () => {
  const c = new TestCluster(35);
  try {
    await c.startAll(['a']);
    const l = await c.leader();
    // The core refuses invalid changes at proposal; one can still reach the log (written
    // by another version, or across a forced new cluster). Make the core ignore this one.
    const raw = l.node['raw'];
    const real = raw.applyConfChangeResult.bind(raw);
    raw.applyConfChangeResult = (cc) => {
      const r = real(cc);
      if (cc.changes[0]?.nodeId !== 'bad') return r;
      return { confState: l.node.status().confState, ignored: new ConfChangeError('refused for the test') };
    };
    const change = track(l.node.addLearner('bad', 'addr'));
    await c.waitFor(() => change.done, 'the change settles');
    assert.instance(change.error, ConfChangeError);
    assert.ok(!l.events.some((e) => e.kind === 'conf-change' && e.change.changes[0]?.nodeId === 'bad'), 'no conf-change event');
    const next = track(l.node.addLearner('good', 'addr'));
    await c.waitFor(() => next.done, 'the next change');
    assert.is(next.error, undefined);
  } finally {
    await c.stopAll();
  }
});

t.run();
