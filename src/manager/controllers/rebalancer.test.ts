// The rebalancer with the orchestrator, allocator and scheduler over a MemoryStore
// without Raft, and a stand-in agent that runs what is assigned and stops what is told
// to stop: 6 replicas on 2 nodes spread 2/2/2 once a third node comes back, start-first
// moves never leave fewer than 6 running, and the moves carry their reason.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryStore } from '../../store/index.ts';
import { aNode, aService } from '../../store/testing.ts';
import { nullLogger } from '../../common/logger.ts';
import { withState } from '../../common/task-state.ts';
import type { Node } from '../../api/types/node.ts';
import type { Task } from '../../api/types/task.ts';
import { AllocatorController } from './allocator.ts';
import { OrchestratorController } from './orchestrator.ts';
import { SchedulerController } from './scheduler.ts';
import { RebalancerController } from './rebalancer.ts';
import { MOVED_FROM_LABEL, MOVE_REASON_LABEL } from '../orchestrator/rebalance.ts';

const tick = () => new Promise((r) => setImmediate(r));

/** Runs assigned tasks, stops tasks told to stop; returns how many it changed. */
async function agent(store: MemoryStore): Promise<number> {
  const { value } = await store.update((tx) => {
    let n = 0;
    for (const t of tx.list('task')) {
      if (t.DesiredState === 'running' && t.Status.State === 'assigned') { tx.update('task', withState(t, 'running', { now: Date.now(), message: 'started' })); n++; }
      else if (t.DesiredState !== 'running' && !['shutdown', 'complete', 'failed', 'rejected', 'remove', 'orphaned'].includes(t.Status.State) && t.Status.State !== 'new' && t.Status.State !== 'pending') {
        tx.update('task', withState(t, 'shutdown', { now: Date.now(), message: 'stopped' })); n++;
      }
    }
    return n;
  });
  return value;
}

const running = (ts: Task[]) => ts.filter((t) => t.DesiredState === 'running' && t.Status.State === 'running');
function perNode(store: MemoryStore, hosts: Map<string, string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of running(store.view((tx) => tx.list('task')))) out[hosts.get(t.NodeID!)!] = (out[hosts.get(t.NodeID!)!] ?? 0) + 1;
  return out;
}

test('6 replicas on 2 nodes spread 2/2/2 when the third comes back, never below 6 start-first', async () => {
  const store = new MemoryStore();
  await store.update((tx) => {
    for (const h of ['a', 'b', 'c']) tx.create('node', aNode(h));
  });
  const hosts = new Map(store.view((tx) => tx.list('node')).map((n) => [n.ID, n.Description.Hostname]));
  const c = store.view((tx) => tx.list('node')).find((n) => n.Description.Hostname === 'c')!;
  await store.update((tx) => tx.update('node', { ...c, Status: { ...c.Status, State: 'down' } } as Node));
  const controllers = [
    new OrchestratorController(store, nullLogger), new AllocatorController(store, nullLogger), new SchedulerController(store, nullLogger),
    new RebalancerController(store, nullLogger, { timing: { settleMs: 0 } }),
  ];
  for (const k of controllers) k.start();
  try {
    const svc = aService('web', 6);
    svc.Spec.UpdateConfig = { Parallelism: 1, Order: 'start-first' };
    await store.update((tx) => tx.create('service', svc));
    for (let i = 0; i < 2000 && running(store.view((tx) => tx.list('task'))).length < 6; i++) { await agent(store); await tick(); }
    assert.equal(perNode(store, hosts), { a: 3, b: 3 });

    const now = store.view((tx) => tx.get('node', c.ID))!;
    await store.update((tx) => tx.update('node', { ...now, Status: { ...now.Status, State: 'ready' } } as Node));
    let least = 6;
    for (let i = 0; i < 4000; i++) {
      await agent(store);
      await tick();
      least = Math.min(least, running(store.view((tx) => tx.list('task'))).length);
      const p = perNode(store, hosts);
      if (p.a === 2 && p.b === 2 && p.c === 2) break;
    }
    assert.equal(perNode(store, hosts), { a: 2, b: 2, c: 2 });
    assert.is(least, 6, 'start-first: never fewer than 6 running');
    const moved = store.view((tx) => tx.list('task')).filter((t) => t.Labels[MOVED_FROM_LABEL]);
    assert.is(moved.length, 2, 'two moves, no churn');
    for (const m of moved) assert.match(m.Labels[MOVE_REASON_LABEL], /^c returned from down; [ab] has 3 tasks of web, c has [01]$/, m.Labels[MOVE_REASON_LABEL]);
  } finally {
    for (const k of controllers) k.stop();
  }
});

test.run();
