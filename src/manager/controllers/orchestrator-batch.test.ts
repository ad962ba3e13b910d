// The orchestrator writes a huge spec in bounded transactions: no commit creates more
// than MAX_CREATES_PER_PASS tasks, and the service still converges (each pass marks it
// dirty again). Over a MemoryStore without Raft; passes are drained by yielding.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryStore } from '../../store/index.ts';
import { aNode, aService } from '../../store/testing.ts';
import { nullLogger } from '../../common/logger.ts';
import { MAX_CREATES_PER_PASS, OrchestratorController } from './orchestrator.ts';

test('a 3,000-replica service is created in transactions of at most MAX_CREATES_PER_PASS tasks', async () => {
  const store = new MemoryStore();
  await store.update((tx) => tx.create('node', aNode('a')));
  const orchestrator = new OrchestratorController(store, nullLogger, { now: () => 0 });
  const sizes: number[] = [];
  const origUpdate = store.update.bind(store);
  store.update = (async (fn: Parameters<typeof store.update>[0]) => {
    const before = store.view((tx) => tx.list('task').length);
    const r = await origUpdate(fn);
    sizes.push(store.view((tx) => tx.list('task').length) - before);
    return r;
  }) as typeof store.update;
  orchestrator.start();
  try {
    await store.update((tx) => tx.create('service', aService('web', 3000)));
    const count = () => store.view((tx) => tx.list('task').length);
    for (let i = 0; i < 10_000 && count() < 3000; i++) await new Promise((r) => setImmediate(r));
    assert.is(count(), 3000, 'every replica got its task');
    assert.ok(Math.max(...sizes) <= MAX_CREATES_PER_PASS, `largest transaction created ${Math.max(...sizes)} tasks`);
    assert.ok(sizes.filter((s) => s > 0).length >= 3000 / MAX_CREATES_PER_PASS, 'the work was split over several transactions');
    const slots = new Set(store.view((tx) => tx.list('task')).map((t) => t.Slot));
    assert.is(slots.size, 3000, 'one task per slot, no duplicates across batches');
  } finally {
    orchestrator.stop();
  }
});

test.run();
