/** `RaftNode.snapshotNow`: a snapshot on request, between Ready iterations, under the storage's current cipher. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestCluster, enc } from './test-cluster.ts';
import { NodeStoppedError } from './errors.ts';

test('snapshotNow snapshots at the applied index and the storage holds it', async () => {
  const c = new TestCluster(31, { snapshotEvery: 0 });
  try {
    await c.startAll(['a']);
    const l = await c.leader();
    for (let i = 0; i < 3; i++) await l.node.propose(enc(`x${i}`));
    const applied = l.node.status().applied;
    const index = await l.node.snapshotNow();
    assert.is(index, applied);
    assert.is(l.storage.snapshot().metadata.index, applied);
    assert.equal(JSON.parse(new TextDecoder().decode(l.storage.snapshot().data)), ['x0', 'x1', 'x2']);
    assert.ok(l.events.some((e) => e.kind === 'snapshot' && !e.received && e.index === applied));
  } finally {
    await c.stopAll();
  }
});

test('snapshotNow with nothing applied since the last snapshot resolves with that one', async () => {
  const c = new TestCluster(32, { snapshotEvery: 0 });
  try {
    await c.startAll(['a']);
    const l = await c.leader();
    await l.node.propose(enc('one'));
    const first = await l.node.snapshotNow();
    assert.is(await l.node.snapshotNow(), first);
  } finally {
    await c.stopAll();
  }
});

test('snapshotNow on a stopped node rejects', async () => {
  const c = new TestCluster(33);
  await c.startAll(['a']);
  const m = await c.stop('a');
  try {
    await m.node.snapshotNow();
    assert.unreachable('resolved on a stopped node');
  } catch (e) {
    assert.instance(e, NodeStoppedError);
  }
});

test.run();
