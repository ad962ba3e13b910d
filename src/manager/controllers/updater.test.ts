// The updater controller with the other leader controllers over a MemoryStore without
// Raft; a fake agent moves assigned tasks to running and stopped ones to shutdown. The
// services use Monitor 0 and Delay 0, so nothing waits on the wall clock.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryStore } from '../../store/index.ts';
import { aNode, aService } from '../../store/testing.ts';
import { nullLogger } from '../../common/logger.ts';
import { withState } from '../../common/task-state.ts';
import { isTerminal, type Task } from '../../api/types/task.ts';
import type { Service } from '../../api/types/service.ts';
import { withServiceDefaults } from '../../api/spec/service-spec.ts';
import { LeaderControllers } from './index.ts';

const raft = { on: () => () => {} } as never;

function tasks(store: MemoryStore): Task[] {
  return store.view((tx) => tx.list('task'));
}

/** One step of a fake agent on every node: assigned → running (or failed for `bad…` images), stopped → shutdown. */
async function agent(store: MemoryStore): Promise<void> {
  await store.update((tx) => {
    for (const t of tx.list('task')) {
      if (isTerminal(t.Status.State)) continue;
      if (t.DesiredState !== 'running' && t.DesiredState !== 'ready') tx.update('task', withState(t, 'shutdown', { now: Date.now() }));
      else if (t.DesiredState === 'running' && t.Status.State === 'assigned') {
        tx.update('task', withState(t, t.Spec.ContainerSpec.Image.startsWith('bad') ? 'failed' : 'running', { now: Date.now() }));
      }
    }
  });
}

async function settle(store: MemoryStore, until: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !until(); i++) {
    await new Promise((r) => setImmediate(r));
    if (i % 5 === 0) await agent(store);
  }
  if (!until()) console.log(JSON.stringify(store.view((tx) => tx.list("service").map((s) => s.UpdateStatus))), tasks(store).map((t) => [t.Slot, t.Spec.ContainerSpec.Image, t.DesiredState, t.Status.State].join(" ")));
  assert.ok(until(), "condition reached");
}

async function setup(store = new MemoryStore()): Promise<{ store: MemoryStore; svc: Service; leaders: LeaderControllers }> {
  await store.update((tx) => {
    for (const h of ['a', 'b', 'c']) tx.create('node', aNode(h));
  });
  const leaders = new LeaderControllers({ store, raft, isLeader: true }, nullLogger);
  const spec = withServiceDefaults(aService('web', 3).Spec);
  spec.UpdateConfig = { ...spec.UpdateConfig, Monitor: 0 };
  const { value: svc } = await store.update((tx) => tx.create('service', { Spec: spec }));
  await settle(store, () => tasks(store).filter((t) => t.Status.State === 'running').length === 3);
  return { store, svc, leaders };
}

/** The API's update: a new image, the old spec kept as PreviousSpec, UpdateStatus cleared. */
async function updateImage(store: MemoryStore, id: string, image: string): Promise<void> {
  await store.update((tx) => {
    const s = structuredClone(tx.get('service', id)!);
    s.PreviousSpec = structuredClone(s.Spec);
    s.Spec.TaskTemplate.ContainerSpec.Image = image;
    delete s.UpdateStatus;
    tx.update('service', s);
  });
}

/** Failure action rollback, and a rollback that monitors nothing. */
async function rollBackOnFailure(store: MemoryStore, id: string): Promise<void> {
  await store.update((tx) => {
    const s = structuredClone(tx.get('service', id)!);
    s.Spec.UpdateConfig = { ...s.Spec.UpdateConfig, FailureAction: 'rollback' };
    s.Spec.RollbackConfig = { ...s.Spec.RollbackConfig, Monitor: 0 };
    tx.update('service', s);
  });
}

const current = (store: MemoryStore, id: string) => store.view((tx) => tx.get('service', id))!;
const runningImages = (store: MemoryStore) => tasks(store).filter((t) => t.Status.State === 'running').map((t) => t.Spec.ContainerSpec.Image).sort();

test('an image update replaces every slot once and completes', async () => {
  const { store, svc, leaders } = await setup();
  try {
    await updateImage(store, svc.ID, 'busybox:v2');
    await settle(store, () => current(store, svc.ID).UpdateStatus?.State === 'completed');
    assert.equal(runningImages(store), ['busybox:v2', 'busybox:v2', 'busybox:v2']);
    const v2 = tasks(store).filter((t) => t.Spec.ContainerSpec.Image === 'busybox:v2');
    assert.equal(v2.map((t) => t.Slot).sort(), [1, 2, 3]);
    assert.is(current(store, svc.ID).UpdateStatus!.Message, 'update completed');
  } finally {
    leaders.close();
  }
});

test('a new leader finishes an update the old one started, replacing no slot twice', async () => {
  const { store, svc, leaders } = await setup();
  let second: LeaderControllers | undefined;
  try {
    await updateImage(store, svc.ID, 'busybox:v2');
    await settle(store, () => tasks(store).some((t) => t.Spec.ContainerSpec.Image === 'busybox:v2' && t.Status.State === 'running'));
    leaders.close();
    second = new LeaderControllers({ store, raft, isLeader: true }, nullLogger);
    await settle(store, () => current(store, svc.ID).UpdateStatus?.State === 'completed');
    const v2 = tasks(store).filter((t) => t.Spec.ContainerSpec.Image === 'busybox:v2');
    assert.equal(v2.map((t) => t.Slot).sort(), [1, 2, 3]);
  } finally {
    leaders.close();
    second?.close();
  }
});

test('a failing update with failure action rollback returns to the previous image', async () => {
  const { store, svc, leaders } = await setup();
  try {
    await rollBackOnFailure(store, svc.ID);
    await updateImage(store, svc.ID, 'bad:v2');
    await settle(store, () => current(store, svc.ID).UpdateStatus?.State === 'rollback_completed');
    assert.is(current(store, svc.ID).Spec.TaskTemplate.ContainerSpec.Image, 'busybox:latest');
    await settle(store, () => runningImages(store).length === 3);
    assert.equal(runningImages(store), ['busybox:latest', 'busybox:latest', 'busybox:latest']);
  } finally {
    leaders.close();
  }
});

test('a replacement counts as the update\'s own even when the store\'s clock differs from the controller\'s', async () => {
  // The store stamps CreatedAt with its clock; the update's StartedAt must come from the
  // same clock, or the first replacement looks older than the update and is disowned
  // (seen as a canary whose failure was lost and a second canary started).
  const { store, svc, leaders } = await setup(new MemoryStore({ clock: { now: () => Date.now() - 5 } }));
  try {
    await rollBackOnFailure(store, svc.ID);
    await updateImage(store, svc.ID, 'bad:v2');
    await settle(store, () => current(store, svc.ID).UpdateStatus?.State === 'rollback_completed');
    const status = current(store, svc.ID).UpdateStatus!;
    const bad = tasks(store).filter((t) => t.Spec.ContainerSpec.Image === 'bad:v2');
    assert.equal(new Set(bad.map((t) => t.Slot)).size, 1, 'replacements (parallelism 1) went to one slot only, then the update rolled back');
    for (const t of bad) assert.ok(Date.parse(t.CreatedAt) >= Date.parse(status.StartedAt!), 'a replacement is no older than the update');
  } finally {
    leaders.close();
  }
});

test.run();
