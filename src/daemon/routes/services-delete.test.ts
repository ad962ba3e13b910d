// DELETE /services/{id} over a MemoryStore: a removal quotes no version, so a controller's
// write of the service or of one of its tasks, still in flight while the removal is built
// (the allocator right after a create, an agent's status report), never fails it with
// "update out of sequence"; its tasks are set to `remove`; a service already gone is a 404.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '../../api/client.ts';
import { ApiError } from '../../api/errors.ts';
import type { Task } from '../../api/types/task.ts';
import { MemoryStore, type WriteTx } from '../../store/index.ts';
import { ManualWallClock, aService, aTask } from '../../store/testing.ts';
import type { SwarmNode } from '../../swarm/swarm-node.ts';
import { Router } from '../../common/router.ts';
import { closeServer, listenUnix } from '../http/unix-server.ts';
import { addServiceRoutes } from './services.ts';

let seq = 0;

/** A store, the service routes over it on a unix socket, and a hook run as the route's transaction starts. */
async function withRoutes(fn: (store: MemoryStore, api: ApiClient, onUpdate: (hook: () => void) => void) => Promise<void>): Promise<void> {
  const store = new MemoryStore({ clock: new ManualWallClock(), rand: (n) => new Uint8Array(n).map(() => ++seq % 256) });
  let hook: (() => void) | undefined;
  // The route's only write goes through here: the hook starts a concurrent write first,
  // which is proposed (in flight) but not yet applied when the route builds its own.
  const update = store.update.bind(store);
  store.update = (<R>(f: (tx: WriteTx) => R) => {
    const h = hook;
    hook = undefined;
    h?.();
    return update(f);
  }) as MemoryStore['update'];
  // A single manager: its read barrier has nothing to wait for.
  const swarm = { requireManager: () => ({ store, barrier: async () => {} }) } as unknown as SwarmNode;
  const router = new Router();
  addServiceRoutes(router, () => swarm);
  const dir = await mkdtemp(join(tmpdir(), 'shoal-svcdel-'));
  const server = await listenUnix(router.listener, join(dir, 'api.sock'));
  try {
    await fn(store, new ApiClient(`unix://${join(dir, 'api.sock')}`), (h) => (hook = h));
  } finally {
    await closeServer(server, join(dir, 'api.sock'));
    await rm(dir, { recursive: true, force: true });
  }
}

test('a service written by a controller while its removal is in flight is still removed', async () => {
  await withRoutes(async (store, api, onUpdate) => {
    const { value: svc } = await store.update((tx) => tx.create('service', aService('web', 2)));
    const { value: tasks } = await store.update((tx) => [tx.create('task', aTask(svc.ID, 1)), tx.create('task', aTask(svc.ID, 2))]);
    let concurrent: Promise<unknown> | undefined;
    onUpdate(() => {
      // The allocator fills the endpoint and an agent reports a task, both after the
      // route looked the service up and before its removal is applied.
      concurrent = store.update((tx) => {
        tx.update('service', { ...structuredClone(tx.get('service', svc.ID)!), Endpoint: { Spec: {}, VirtualIPs: [] } });
        const t = structuredClone(tx.get('task', tasks[0].ID)!) as Task;
        t.Status = { ...t.Status, State: 'pending' };
        tx.update('task', t);
      });
    });
    await api.delete(`/services/${svc.ID}`);
    await concurrent;
    assert.is(store.view((tx) => tx.get('service', svc.ID)), undefined, 'the service is gone');
    assert.equal(store.view((tx) => tx.find('task', { serviceId: svc.ID })).map((t) => t.DesiredState), ['remove', 'remove'], 'its tasks go too');
  });
});

test('a service removed meanwhile is a 404, by name or ID, as Docker answers', async () => {
  await withRoutes(async (store, api, onUpdate) => {
    const { value: svc } = await store.update((tx) => tx.create('service', aService('web')));
    onUpdate(() => void store.update((tx) => tx.delete('service', svc.ID)));
    const err = await api.delete('/services/web').then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof ApiError, String(err));
    assert.is((err as ApiError).status, 404);
    assert.match((err as ApiError).message, /^service \S+ not found/);
    const again = await api.delete(`/services/${svc.ID}`).then(() => undefined, (e: unknown) => e);
    assert.is((again as ApiError).status, 404);
  });
});

test.run();
