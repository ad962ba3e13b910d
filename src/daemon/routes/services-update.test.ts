// POST /services/{id}/update on a loopback single-node swarm (the node is drained, so
// its tasks stay pending): the quoted version, PreviousSpec, UpdateStatus and
// rollback=previous, with Docker's errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ApiClient } from '../../api/client.ts';
import { ApiError } from '../../api/errors.ts';
import type { Service, ServiceSpec } from '../../api/types/service.ts';
import { addServiceRoutes } from './services.ts';
import { failure, startLoopbackRoutes, type LoopbackRoutes } from './test-swarm.ts';

let swarm: LoopbackRoutes | undefined;
let api: ApiClient;

test.before(async () => {
  swarm = await startLoopbackRoutes({ tmp: 'svcupd', hostname: 'updhost' }, (router, node) => addServiceRoutes(router, () => node));
  api = swarm.api;
});

test.after(async () => {
  await swarm?.close();
});

function spec(image: string, extra: Partial<ServiceSpec> = {}): ServiceSpec {
  return { Name: 'app', Labels: {}, TaskTemplate: { ContainerSpec: { Image: image } }, ...extra };
}

const inspect = () => api.get<Service>('/services/app');
const update = (s: ServiceSpec, version: number, query: Record<string, string | number> = {}) => api.post('/services/app/update', s, { query: { version, ...query } });

// The updater writes the service's UpdateStatus after an update (a new version), so an
// inspect-then-update can meet a 409 that says nothing about the request: read the version
// again until the request is judged on its content, as a user re-running the command would.
async function updateLatest(make: (cur: Service) => ServiceSpec, query: Record<string, string | number> = {}): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const cur = await inspect();
    try {
      await update(make(cur), cur.Version.Index, query);
      return;
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 409 || attempt >= 20) throw err;
    }
  }
}

test('an update keeps the old spec as PreviousSpec; a stale version gets 409 and changes nothing', async () => {
  await api.post('/services/create', spec('img:v1'));
  const v1 = await inspect();
  assert.is(v1.PreviousSpec, undefined);
  assert.is(v1.UpdateStatus, undefined);
  await update(spec('img:v2'), v1.Version.Index, { registryAuthFrom: 'spec' });
  const v2 = await inspect();
  assert.is(v2.Spec.TaskTemplate.ContainerSpec.Image, 'img:v2');
  assert.is(v2.PreviousSpec!.TaskTemplate.ContainerSpec.Image, 'img:v1');
  const stale = await failure(update(spec('img:v3'), v1.Version.Index));
  assert.is(stale.status, 409);
  assert.match(stale.message, /update out of sequence/);
  assert.is((await inspect()).Spec.TaskTemplate.ContainerSpec.Image, 'img:v2');
});

test('rollback=previous swaps Spec and PreviousSpec and reports a manual rollback', async () => {
  await updateLatest((cur) => cur.Spec, { rollback: 'previous' });
  const back = await inspect();
  assert.is(back.Spec.TaskTemplate.ContainerSpec.Image, 'img:v1');
  assert.is(back.PreviousSpec!.TaskTemplate.ContainerSpec.Image, 'img:v2');
  assert.is(back.UpdateStatus!.State, 'rollback_started');
  assert.is(back.UpdateStatus!.Message, 'manually requested rollback');
  assert.ok(back.UpdateStatus!.StartedAt);
});

test('the next update clears UpdateStatus (a paused update resumes towards the new spec)', async () => {
  await updateLatest(() => spec('img:v3'));
  const next = await inspect();
  // The updater may already have started the new update; never the old rollback.
  assert.ok(next.UpdateStatus === undefined || next.UpdateStatus.State === 'updating', JSON.stringify(next.UpdateStatus));
});

test('refused: unknown rollback value, no previous spec, mode change', async () => {
  const cur = await inspect();
  assert.is((await failure(update(cur.Spec, cur.Version.Index, { rollback: 'next' }))).status, 400);
  const mode = await failure(updateLatest((now) => ({ ...now.Spec, Mode: { Global: {} } })));
  assert.is(mode.status, 400);
  assert.match(mode.message, /service mode change is not allowed/);
  await api.post('/services/create', { ...spec('img:v1'), Name: 'fresh' });
  const fresh = await api.get<Service>('/services/fresh');
  const none = await failure(api.post('/services/fresh/update', fresh.Spec, { query: { version: fresh.Version.Index, rollback: 'previous' } }));
  assert.is(none.status, 400);
  assert.match(none.message, /does not have a previous spec/);
});

test.run();
