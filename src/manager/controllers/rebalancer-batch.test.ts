// The rebalancer over a MemoryStore without Raft, with its timers taken by the test (a
// manual clock): 20 placements, then 20 arrivals at running, each its own commit, make
// one pass each once RUNNING_COALESCE_MS is over, not one pass per commit; an end is
// still looked at at once. A wake timer that stop() cleared is set again by the next term;
// a failed write is retried.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryStore } from '../../store/index.ts';
import { aNode, aService, aTask } from '../../store/testing.ts';
import { nullLogger } from '../../common/logger.ts';
import type { Task, TaskState } from '../../api/types/task.ts';
import { RebalancerController } from './rebalancer.ts';
import { RUNNING_COALESCE_MS } from './store-controller.ts';
import { drain, takeTimers } from './testing.ts';


/** Nodes `a` and `b` and a service of `replicas` tasks in `state`, all on `a` if `onA`, else unplaced. */
async function nodesAndService(replicas: number, state: TaskState, onA: boolean): Promise<{ store: MemoryStore; nodes: string[] }> {
  const store = new MemoryStore();
  const service = (await store.update((tx) => {
    for (const h of ['a', 'b']) tx.create('node', aNode(h));
    return tx.create('service', aService('web', replicas));
  })).value;
  const nodes = store.view((tx) => tx.list('node')).map((n) => n.ID);
  await store.update((tx) => {
    for (let s = 1; s <= replicas; s++) {
      tx.create('task', { ...aTask(service.ID, s, onA ? nodes[0] : undefined), Status: { Timestamp: '2026-01-01T00:00:00.000Z', State: state, Message: '' } });
    }
  });
  return { store, nodes };
}

test('placements and arrivals, one commit each, make one rebalancer pass later; an end one at once', async () => {
  const { store, nodes } = await nodesAndService(20, 'pending', false);

  const rebalancer = new RebalancerController(store, nullLogger, { now: () => 0 });
  const timers = takeTimers(rebalancer);
  const coalescing = () => timers.filter((t) => t.ms === RUNNING_COALESCE_MS);
  let passes = 0;
  let mine = false;
  const origUpdate = store.update.bind(store);
  store.update = ((fn: Parameters<typeof store.update>[0]) => {
    if (!mine) passes++;
    return origUpdate(fn);
  }) as typeof store.update;
  /** Each task changed by `fn` in a commit of its own, the rebalancer given its turns in between. */
  const oneByOne = async (fn: (t: Task, i: number) => Task) => {
    const ids = store.view((tx) => tx.list('task')).map((t) => t.ID);
    for (const [i, id] of ids.entries()) {
      mine = true;
      try { await store.update((tx) => tx.update('task', fn(tx.get('task', id)!, i))); } finally { mine = false; }
      await drain();
    }
  };
  rebalancer.start();
  try {
    await drain();
    assert.ok(passes >= 1, 'the initial pass');

    passes = 0;
    await oneByOne((t, i) => ({ ...t, NodeID: nodes[i % 2], Status: { ...t.Status, State: 'assigned' } }));
    assert.is(passes, 0, 'no pass per placement');
    assert.is(coalescing().length, 1, 'one coalesced look for the 20 placements');
    coalescing()[0].fire();
    await drain();
    assert.is(passes, 1, 'the placements are looked at, in one pass');

    passes = 0;
    timers.length = 0;
    await oneByOne((t) => ({ ...t, Status: { ...t.Status, State: 'running' } }));
    assert.is(passes, 0, 'no pass per arrival at running');
    assert.is(coalescing().length, 1);
    coalescing()[0].fire();
    await drain();
    assert.is(passes, 1, 'the arrivals are looked at, in one pass');

    passes = 0;
    mine = true;
    await store.update((tx) => { const t = tx.list('task')[0]; tx.update('task', { ...t, Status: { ...t.Status, State: 'failed' } }); });
    mine = false;
    await drain();
    assert.is(passes, 1, 'an end is looked at at once');
  } finally {
    rebalancer.stop();
  }
});

test('a wake timer cleared by stop() is set again after the next start', async () => {
  const { store } = await nodesAndService(4, 'running', true);

  // All 4 on one node: nothing moves until the nodes have settled, then a wake is due.
  const settleMs = 10_000;
  const rebalancer = new RebalancerController(store, nullLogger, { now: () => 0, timing: { settleMs } });
  const timers = takeTimers(rebalancer);
  try {
    rebalancer.start();
    await drain();
    assert.equal(timers.map((t) => t.ms), [settleMs], 'a wake when the nodes have settled');
    rebalancer.stop(); // leadership lost: the timer is gone
    rebalancer.start();
    await drain();
    assert.equal(timers.map((t) => t.ms), [settleMs, settleMs], 'the new term sets its own wake');
  } finally {
    rebalancer.stop();
  }
});

test('a pass whose write failed is looked at again by the retry', async () => {
  const store = new MemoryStore();
  await store.update((tx) => { for (const h of ['a', 'b']) tx.create('node', aNode(h)); });
  const rebalancer = new RebalancerController(store, nullLogger, { now: () => 0 });
  let calls = 0;
  const origUpdate = store.update.bind(store);
  store.update = ((fn: Parameters<typeof store.update>[0]) => {
    calls++;
    return calls === 1 ? Promise.reject(new Error('no quorum')) : origUpdate(fn);
  }) as typeof store.update;
  try {
    rebalancer.start();
    for (let i = 0; i < 300 && calls < 2; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(calls >= 2, 'the initial pass failed, then ran again');
  } finally {
    rebalancer.stop();
  }
});

test.run();
