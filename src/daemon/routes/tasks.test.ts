// GET /tasks on a loopback single-node swarm (the node is drained, so its tasks stay
// pending): the docker CLI's `_up-to-date` filter lists only tasks made from the
// service's current spec, which is how `service update --detach=false` knows when an
// update has converged.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type http from 'node:http';
import { SwarmNode } from '../../swarm/swarm-node.ts';
import { freePort, loopbackContext } from '../../swarm/test-node.ts';
import { Router } from '../http/router.ts';
import { listenUnix, closeServer } from '../http/unix-server.ts';
import { ApiClient } from '../../api/client.ts';
import type { Service, ServiceSpec } from '../../api/types/service.ts';
import type { Task } from '../../api/types/task.ts';
import { addServiceRoutes } from './services.ts';
import { addTaskRoutes } from './tasks.ts';

let dir = '';
let node: SwarmNode | undefined;
let server: http.Server | undefined;
let api: ApiClient;

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shoal-tasks-'));
  const port = await freePort();
  const ctx = loopbackContext(join(dir, 'data'), port, 'taskhost');
  node = await SwarmNode.init(ctx, { ListenAddr: ctx.listenAddr, AdvertiseAddr: ctx.advertiseAddr, Availability: 'drain' });
  const router = new Router();
  addServiceRoutes(router, () => node);
  addTaskRoutes(router, () => node);
  server = await listenUnix(router.listener, join(dir, 'api.sock'));
  api = new ApiClient(`unix://${join(dir, 'api.sock')}`);
});

test.after(async () => {
  if (server) await closeServer(server, join(dir, 'api.sock'));
  await node?.stop();
  await rm(dir, { recursive: true, force: true });
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
