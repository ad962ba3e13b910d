// The schema controller over a MemoryStore: it migrates once every manager runs the newer
// schema, also when the last manager on the older one is demoted rather than upgraded.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryStore } from '../../store/index.ts';
import { aCluster, aNode } from '../../store/testing.ts';
import { nullLogger } from '../../common/logger.ts';
import { SchemaController } from './schema.ts';

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(cond(), 'condition reached');
}

test('demoting the last manager on the older schema lets the leader migrate', async () => {
  const store = new MemoryStore();
  const { value: old } = await store.update((tx) => {
    tx.create('cluster', aCluster());
    const n = aNode('new', 'manager');
    tx.create('node', { ...n, Description: { ...n.Description, ShoalStoreSchema: 2 } });
    return tx.create('node', aNode('old', 'manager'));
  });
  const c = new SchemaController(store, nullLogger, 2);
  c.start();
  try {
    const schema = () => store.view((tx) => tx.list('cluster')[0].ShoalStoreSchema ?? 1);
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    assert.is(schema(), 1, 'a manager still runs schema 1');
    await store.update((tx) => {
      const n = structuredClone(tx.get('node', old.ID)!);
      n.Spec.Role = 'worker';
      tx.update('node', n);
    });
    await until(() => schema() === 2);
  } finally {
    c.stop();
  }
});

test.run();
