// GET /tasks on a loopback single-node swarm (the node is drained, so its tasks stay
// pending): the docker CLI's `_up-to-date` filter lists only tasks made from the
// service's current spec, which is how `service update --detach=false` knows when an
// update has converged.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ApiClient } from '../../api/client.ts';
import type { Service, ServiceSpec } from '../../api/types/service.ts';
import type { Task } from '../../api/types/task.ts';
import { addServiceRoutes } from './services.ts';
import { addTaskRoutes } from './tasks.ts';
import { startLoopbackRoutes, type LoopbackRoutes } from './test-swarm.ts';

let swarm: LoopbackRoutes | undefined;
let api: ApiClient;

test.before(async () => {
  swarm = await startLoopbackRoutes({ tmp: 'tasks', hostname: 'taskhost' }, (router, node) => {
    addServiceRoutes(router, () => node);
    addTaskRoutes(router, () => node);
  });
  api = swarm.api;
});

test.after(async () => {
  await swarm?.close();
});

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const tasks = (filters: Record<string, string[]>) => api.get<Task[]>('/tasks', { query: { filters: JSON.stringify(filters) } });
const image = (t: Task) => t.Spec.ContainerSpec?.Image;

test('_up-to-date lists only the tasks made from the current spec', async () => {
  const spec: ServiceSpec = { Name: 'app', Labels: {}, Mode: { Replicated: { Replicas: 2 } }, TaskTemplate: { ContainerSpec: { Image: 'img:v1' } } };
  await api.post('/services/create', spec);
  await until('two tasks', async () => ((await tasks({ service: ['app'] })).length >= 2 ? true : undefined));
  const fresh = await tasks({ service: ['app'], '_up-to-date': ['true'] });
  assert.ok(fresh.length >= 2, 'every task of a new service is up to date');
  assert.ok(fresh.every((t) => image(t) === 'img:v1'));

  const current = await api.get<Service>('/services/app');
  await api.post('/services/app/update', { ...current.Spec, TaskTemplate: { ...current.Spec.TaskTemplate, ContainerSpec: { Image: 'img:v2' } } }, { query: { version: current.Version!.Index } });
  const all = await tasks({ service: ['app'] });
  const upToDate = await tasks({ service: ['app'], '_up-to-date': ['true'] });
  assert.ok(all.some((t) => image(t) === 'img:v1'), 'the old tasks are still listed without the filter');
  assert.ok(upToDate.every((t) => image(t) === 'img:v2'), `only v2 tasks are up to date, got ${upToDate.map(image).join(',')}`);
  await until('a v2 task', async () => ((await tasks({ service: ['app'], '_up-to-date': ['true'] })).some((t) => image(t) === 'img:v2') ? true : undefined));
});

test.run();
