// POST /services/{id}/promote (Shoal extension) on a loopback single-node swarm (the node
// is drained, so tasks stay pending and a canary update stays in progress).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ApiClient } from '../../api/client.ts';
import type { Service, ServiceSpec } from '../../api/types/service.ts';
import { addServiceRoutes } from './services.ts';
import { failure, startLoopbackRoutes, type LoopbackRoutes } from './test-swarm.ts';

let swarm: LoopbackRoutes | undefined;
let api: ApiClient;

test.before(async () => {
  swarm = await startLoopbackRoutes({ tmp: 'svcpro', hostname: 'prohost' }, (router, node) => addServiceRoutes(router, () => node));
  api = swarm.api;
});

test.after(async () => {
  await swarm?.close();
});

function spec(image: string, extra: Partial<ServiceSpec> = {}): ServiceSpec {
  return { Name: 'app', Labels: {}, TaskTemplate: { ContainerSpec: { Image: image } }, ...extra };
}

const inspect = (name: string) => api.get<Service>(`/services/${name}`);
const canary = { 'com.shoal.update.strategy': 'canary', 'com.shoal.update.canary.auto': 'rollback' };

async function waitStatus(name: string, state: string): Promise<Service> {
  for (let i = 0; i < 200; i++) {
    const s = await inspect(name);
    if (s.UpdateStatus?.State === state) return s;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${name}: update never reached ${state}`);
}

/** Waits until the orchestrator has made the service's task (pending: the node is drained). */
async function waitTasks(serviceId: string): Promise<void> {
  const store = swarm!.node.requireManager().store;
  for (let i = 0; i < 200; i++) {
    if (store.view((tx) => tx.find('task', { serviceId })).length > 0) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${serviceId}: no task was made`);
}

test('promote marks the running canary update promoted; twice is a no-op', async () => {
  await api.post('/services/create', spec('img:v1', { Name: 'can', Labels: canary }));
  let s = await inspect('can');
  // The update must find a task of the old spec to replace, or there is nothing to update.
  await waitTasks(s.ID);
  await api.post(`/services/${s.ID}/update`, spec('img:v2', { Name: 'can', Labels: canary }), { query: { version: s.Version.Index } });
  s = await waitStatus('can', 'updating');
  assert.is(s.UpdateStatus!.ShoalCanary, undefined);
  assert.equal(await api.post('/services/can/promote', undefined), { Promoted: true });
  s = await inspect('can');
  assert.is(s.UpdateStatus!.ShoalCanary, 'promoted');
  const v = s.Version.Index;
  await api.post('/services/can/promote', undefined);
  assert.is((await inspect('can')).Version.Index, v, 'nothing written the second time');
});

test('promote: 409 for a service without the canary strategy or without an update; 404 for none', async () => {
  await api.post('/services/create', spec('img:v1', { Name: 'plain' }));
  let err = await failure(api.post('/services/plain/promote', undefined));
  assert.is(err.status, 409);
  assert.match(err.message, /does not update as a canary/);
  await api.post('/services/create', spec('img:v1', { Name: 'idle', Labels: canary }));
  err = await failure(api.post('/services/idle/promote', undefined));
  assert.is(err.status, 409);
  assert.match(err.message, /no update in progress/);
  err = await failure(api.post('/services/nope/promote', undefined));
  assert.is(err.status, 404);
});

test('a bad canary label is refused with 400 naming it', async () => {
  const err = await failure(api.post('/services/create', spec('img:v1', { Name: 'bad', Labels: { 'com.shoal.update.strategy': 'canary', 'com.shoal.update.canary.weight': '150' } })));
  assert.is(err.status, 400);
  assert.match(err.message, /com\.shoal\.update\.canary\.weight/);
});

test.run();
