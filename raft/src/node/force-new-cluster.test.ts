import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { emptyConfState, StateRole } from '../types.ts';
import { MemoryDurableStorage } from './memory-durable-storage.ts';
import { TestCluster, enc } from './test-cluster.ts';
import { forceNewCluster, membershipOf } from './force-new-cluster.ts';

const ABC = ['a', 'b', 'c'];

test('a survivor of a lost quorum becomes a one-member cluster that keeps its state and takes writes', async () => {
  const c = new TestCluster(7);
  const storages = new Map(ABC.map((id) => [id, new MemoryDurableStorage({ confState: { ...emptyConfState(), voters: ABC } })]));
  try {
    for (const id of ABC) await c.start(id, storages.get(id)!);
    const l = await c.leader();
    await l.node.propose(enc('before'));
    await c.applied(l.node.status().applied);
    await c.stopAll();
    // b and c are gone for good; a alone cannot elect itself until forced.
    const sa = storages.get('a')!;
    assert.equal([...membershipOf(sa).voters].sort(), ABC);
    const { removed } = await forceNewCluster(sa, 'a');
    assert.equal(removed, ['b', 'c']);
    const a = await c.start('a', sa);
    await c.waitFor(() => a.node.status().role === StateRole.Leader, 'a leads alone');
    assert.equal(a.node.status().confState.voters, ['a']);
    const r = await a.node.propose(enc('after'));
    assert.ok(r.index > 0);
    assert.ok(a.sm.applied.includes('before'), 'the acknowledged write survived');
    assert.ok(a.sm.applied.includes('after'));
  } finally {
    await c.stopAll();
  }
});

test('membershipOf follows the conf changes in the log', async () => {
  const s = new MemoryDurableStorage({ confState: { ...emptyConfState(), voters: ['a'] } });
  assert.equal([...membershipOf(s).voters], ['a']);
  await forceNewCluster(s, 'z');
  assert.equal([...membershipOf(s).voters].sort(), ['z']);
});

test.run();
