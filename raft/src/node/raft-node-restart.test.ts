/**
 * What a crash (no `stop()`) leaves behind must always restart: the commit index a node has
 * written covers everything it applied, and a snapshot is never ahead of a synced commit.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { emptyConfState, type ConfState, type HardState, type Snapshot } from '../types.ts';
import { DiskStorage } from '../wal/disk-storage.ts';
import { ents, withTempDir } from '../wal/test-helpers.ts';
import { MemoryDurableStorage } from './memory-durable-storage.ts';
import { TestCluster, enc } from './test-cluster.ts';

const ABC = ['a', 'b', 'c'];

/** Memory storage that keeps, apart, what a power cut would keep: the last synced hard state. */
class PowerCutStorage extends MemoryDurableStorage {
  syncedHardState: HardState = { term: 0, vote: '', commit: 0 };
  violations: string[] = [];
  override async save(batch: { hardState?: HardState; entries: import('../types.ts').Entry[]; snapshot?: Snapshot; sync: boolean }): Promise<void> {
    await super.save(batch);
    if (batch.sync || batch.snapshot) this.syncedHardState = { ...this.mem.initialState().hardState };
  }
  override async createSnapshot(index: number, confState: ConfState, data: Uint8Array): Promise<Snapshot> {
    if (this.syncedHardState.commit < index) this.violations.push(`snapshot at ${index} with synced commit ${this.syncedHardState.commit}`);
    return super.createSnapshot(index, confState, data);
  }
}

const t = suite('RaftNode: restart after a crash');

t('the commit index a node has written covers every entry it applied, without stop()', async () => {
  const c = new TestCluster(5);
  try {
    await c.startAll(ABC);
    const l = await c.leader();
    for (let i = 0; i < 5; i++) await l.node.propose(enc(`k${i}`));
    await c.applied(l.node.appliedIndex);
    for (const m of c.members.values()) {
      const written = m.storage.initialState().hardState.commit;
      assert.ok(written >= m.node.appliedIndex, `${m.id}: applied ${m.node.appliedIndex}, written commit ${written}`);
    }
  } finally {
    await c.stopAll();
  }
});

t('a snapshot is taken only once a synced hard state covers its index', async () => {
  const c = new TestCluster(6, { snapshotEvery: 3, snapshotTrailing: 0 });
  const storages = ABC.map(() => new PowerCutStorage({ confState: { ...emptyConfState(), voters: ABC } }));
  try {
    for (const [i, id] of ABC.entries()) await c.start(id, storages[i]);
    const l = await c.leader();
    for (let i = 0; i < 10; i++) await l.node.propose(enc(`k${i}`));
    await c.applied(l.node.appliedIndex);
    assert.ok(storages.every((s) => s.snapshot().metadata.index > 0), 'every node snapshotted');
    assert.equal(storages.flatMap((s) => s.violations), []);
    // A core built on what a power cut keeps (synced hard state, snapshot) starts.
    for (const s of storages) {
      const applied = s.snapshot().metadata.index;
      assert.ok(s.syncedHardState.commit >= applied);
    }
  } finally {
    await c.stopAll();
  }
});

t('a node starts on a log whose written commit a crash left behind its snapshot', () =>
  withTempDir(async (dir) => {
    const confState = { ...emptyConfState(), voters: ['a'] };
    const s = await DiskStorage.open(dir, { fsync: false, confState });
    await s.save({ entries: ents(1, 10, 1), hardState: { term: 1, vote: 'a', commit: 3 }, sync: true });
    // What an older driver could leave: a snapshot at 8 while the written commit is 3.
    await s.createSnapshot(8, confState, enc(JSON.stringify(['x'])));
    await s.close();
    const r = await DiskStorage.open(dir, { fsync: false });
    const c = new TestCluster(7);
    try {
      const m = await c.start('a', r);
      assert.is(m.node.status().hardState.commit, 8);
      assert.is(m.node.appliedIndex, 8);
      const l = await c.leader();
      await l.node.propose(enc('after'));
      assert.equal(l.sm.applied, ['x', 'e9t1', 'e10t1', 'after']);
    } finally {
      await c.stopAll();
      await r.close();
    }
  }));

t.run();
