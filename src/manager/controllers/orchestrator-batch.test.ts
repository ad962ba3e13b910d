// The orchestrator writes a huge spec in bounded transactions: no commit creates more
// than MAX_CREATES_PER_PASS tasks, and the service still converges (each pass marks it
// dirty again). Over a MemoryStore without Raft; passes are drained by yielding.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryStore } from '../../store/index.ts';
import type { Task } from '../../api/types/task.ts';
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

test("a task's steps towards running write nothing; its arrival is reconciled in a later pass", async () => {
  const store = new MemoryStore();
  await store.update((tx) => tx.create('node', aNode('a')));
  const orchestrator = new OrchestratorController(store, nullLogger, { now: () => 0 });
  const o = orchestrator as unknown as { pass(): Promise<void>; dirty: Set<string> };
  const reconciled: string[][] = [];
  let writes = 0;
  const origPass = o.pass.bind(orchestrator);
  o.pass = () => { reconciled.push([...o.dirty]); return origPass(); };
  const origUpdate = store.update.bind(store);
  let mine = false;
  store.update = ((fn: Parameters<typeof store.update>[0]) => {
    if (!mine) writes++;
    return origUpdate(fn);
  }) as typeof store.update;
  const step = async (fn: (t: Task) => Task) => {
    mine = true;
    try {
      await store.update((tx) => { const t = tx.list('task')[0]; tx.update('task', fn(t)); });
    } finally {
      mine = false;
    }
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  };
  orchestrator.start();
  try {
    mine = true;
    const service = (await store.update((tx) => tx.create('service', aService('web', 1)))).value;
    mine = false;
    for (let i = 0; i < 1000 && store.view((tx) => tx.list('task').length) < 1; i++) await new Promise((r) => setImmediate(r));
    // The task's creation marks the service again: let that pass run.
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    const nodeId = store.view((tx) => tx.list('node'))[0].ID;
    writes = 0;
    await step((t) => ({ ...t, NodeID: nodeId, Status: { ...t.Status, State: 'assigned' } }));
    await step((t) => ({ ...t, Status: { ...t.Status, State: 'starting' } }));
    assert.is(writes, 0, 'no transaction for steps towards running: ' + JSON.stringify(reconciled));
    reconciled.length = 0;
    await step((t) => ({ ...t, Status: { ...t.Status, State: 'running' } }));
    for (let i = 0; i < 500 && !reconciled.some((ids) => ids.includes(service.ID)); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(reconciled.some((ids) => ids.includes(service.ID)), 'the service was reconciled after its task came up');
  } finally {
    orchestrator.stop();
  }
});

test.run();
