/** `RaftNode.observe`: the timing callbacks metrics use (proposals, saves, snapshots). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestCluster, enc } from './test-cluster.ts';

test('an observer hears each proposal, its apply, the saves and a snapshot; removing it stops the calls', async () => {
  const c = new TestCluster(41, { snapshotEvery: 0 });
  try {
    await c.startAll(['a']);
    const l = await c.leader();
    const seen = { proposed: 0, applied: [] as number[], saves: 0, synced: 0, snapshot: -1 };
    const off = l.node.observe({
      proposed: () => { seen.proposed++; },
      proposalApplied: (ms) => seen.applied.push(ms),
      saved: (_ms, entries, sync) => { seen.saves++; if (sync && entries > 0) seen.synced++; },
      snapshotTaken: (bytes) => { seen.snapshot = bytes; },
    });
    for (let i = 0; i < 3; i++) await l.node.propose(enc(`x${i}`));
    await l.node.snapshotNow();
    assert.is(seen.proposed, 3);
    assert.is(seen.applied.length, 3);
    assert.ok(seen.applied.every((ms) => ms >= 0));
    assert.ok(seen.synced >= 1, 'entries are written with a sync');
    assert.ok(seen.snapshot > 0);
    off();
    await l.node.propose(enc('after'));
    assert.is(seen.proposed, 3);
  } finally {
    await c.stopAll();
  }
});

test.run();
