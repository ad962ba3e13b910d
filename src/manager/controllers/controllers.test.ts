// The leader controllers over a MemoryStore without Raft (LocalProposer): the
// orchestrator makes tasks, the scheduler places them, the reaper deletes finished
// ones, all through the store. Passes run on setImmediate; the test drains them by
// yielding to the event loop (no timers, no sleeping).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StateRole } from 'raft-ts';
import { MemoryStore } from '../../store/index.ts';
import { aNode, aService } from '../../store/testing.ts';
import { nullLogger } from '../../common/logger.ts';
import { withState } from '../../common/task-state.ts';
import type { Task } from '../../api/types/task.ts';
import { LeaderControllers, TaskReaperController } from './index.ts';

type Listener = (e: { kind: 'role'; role: StateRole; term: number }) => void;

/** A stand-in for the Raft node: only role events. */
function fakeRaft(): { on(l: Listener): () => void; emit(leader: boolean): void } {
  const ls = new Set<Listener>();
  return {
    on: (l) => (ls.add(l), () => ls.delete(l)),
    emit: (leader) => ls.forEach((l) => l({ kind: 'role', role: leader ? StateRole.Leader : StateRole.Follower, term: 1 })),
  };
}

async function settle(store: MemoryStore, until: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !until(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(until(), 'condition reached');
}

function tasks(store: MemoryStore): Task[] {
  return store.view((tx) => tx.list('task'));
}

async function setup(leader = true) {
  const store = new MemoryStore();
  await store.update((tx) => {
    for (const h of ['a', 'b', 'c']) tx.create('node', aNode(h));
  });
  const raft = fakeRaft();
  const host = { store, raft: raft as never, isLeader: leader };
  const controllers = new LeaderControllers(host, nullLogger);
  return { store, raft, controllers };
}

test('a new service gets one assigned task per replica, spread over the nodes', async () => {
  const { store, controllers } = await setup();
  try {
    await store.update((tx) => tx.create('service', aService('web', 3)));
    await settle(store, () => tasks(store).filter((t) => t.Status.State === 'assigned').length === 3);
    const ts = tasks(store);
    assert.equal(ts.map((t) => t.Slot).sort(), [1, 2, 3]);
    assert.is(new Set(ts.map((t) => t.NodeID)).size, 3);
  } finally {
    controllers.close();
  }
});

test('scaling down sets the removed slots to desired state remove', async () => {
  const { store, controllers } = await setup();
  try {
    const { value: svc } = await store.update((tx) => tx.create('service', aService('web', 3)));
    await settle(store, () => tasks(store).filter((t) => t.Status.State === 'assigned').length === 3);
    const next = structuredClone(store.view((tx) => tx.get('service', svc.ID))!);
    next.Spec.Mode = { Replicated: { Replicas: 1 } };
    await store.update((tx) => tx.update('service', next));
    await settle(store, () => tasks(store).filter((t) => t.DesiredState === 'remove').length === 2);
    assert.is(tasks(store).filter((t) => t.DesiredState === 'running').length, 1);
  } finally {
    controllers.close();
  }
});

test('a task that cannot be placed stays pending with the reason', async () => {
  const { store, controllers } = await setup();
  try {
    const spec = aService('big', 1);
    spec.Spec.TaskTemplate.Resources = { Reservations: { MemoryBytes: 2 ** 40 } };
    await store.update((tx) => tx.create('service', spec));
    // The allocator moves it to pending, the scheduler (in a later turn) writes the reason.
    await settle(store, () => tasks(store).some((t) => t.Status.State === 'pending' && !!t.Status.Err));
    assert.match(tasks(store)[0].Status.Err ?? '', /no suitable node \(insufficient resources on 3 nodes\)/);
  } finally {
    controllers.close();
  }
});

test('tasks of a deleted service are set to remove; once shut down the reaper deletes them', async () => {
  const { store, controllers } = await setup();
  const reaper = new TaskReaperController(store, nullLogger, { intervalMs: 0 });
  try {
    const { value: svc } = await store.update((tx) => tx.create('service', aService('web', 2)));
    await settle(store, () => tasks(store).filter((t) => t.Status.State === 'assigned').length === 2);
    await store.update((tx) => tx.delete('service', svc.ID));
    await settle(store, () => tasks(store).every((t) => t.DesiredState === 'remove'));
    reaper.start();
    await store.update((tx) => {
      for (const t of tx.list('task')) tx.update('task', withState(t, 'shutdown', { now: Date.now() }));
    });
    await settle(store, () => tasks(store).length === 0);
  } finally {
    reaper.stop();
    controllers.close();
  }
});

test('controllers run only while the manager leads', async () => {
  const { store, raft, controllers } = await setup(false);
  try {
    await store.update((tx) => tx.create('service', aService('web', 1)));
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    assert.is(tasks(store).length, 0, 'a follower makes no tasks');
    raft.emit(true);
    await settle(store, () => tasks(store).length === 1);
  } finally {
    controllers.close();
  }
});

test.run();
