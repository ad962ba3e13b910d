import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryStore } from '../../store/index.ts';
import type { Secret } from '../../api/types/secret-config.ts';
import type { Task } from '../../api/types/task.ts';
import { rotatePayload } from './payload-rotate.ts';
import { retiredUnused } from '../../manager/controllers/payload-gc.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

async function setup() {
  const store = new MemoryStore();
  const { value: s } = await store.update((tx) => tx.create('secret', { Spec: { Name: 'db', Labels: { a: 'b' }, Data: b64('v1') } } as never) as Secret);
  const ref = { SecretName: 'db', SecretID: s.ID, File: { Name: 'db', UID: '0', GID: '0', Mode: 0o444 } };
  await store.update((tx) => {
    tx.create('service', { Spec: { Name: 'web', Labels: {}, Mode: { Replicated: { Replicas: 1 } }, TaskTemplate: { ContainerSpec: { Image: 'busybox', Secrets: [ref] } } } } as never);
    tx.create('service', { Spec: { Name: 'other', Labels: {}, Mode: { Replicated: { Replicas: 1 } }, TaskTemplate: { ContainerSpec: { Image: 'busybox' } } } } as never);
  });
  return { store, s };
}

test('rotate makes a new version under the same name and repoints every service using the old one', async () => {
  const { store, s } = await setup();
  const { value: r } = await store.update((tx) => rotatePayload(tx, 'secret', tx.get('secret', s.ID) as Secret, b64('v2'), new Date()));
  assert.is(r.Version, 2);
  assert.equal(r.Services, ['web']);
  store.view((tx) => {
    const cur = tx.getByName('secret', 'db') as Secret;
    assert.is(cur.ID, r.ID);
    assert.is(cur.Spec.Data, b64('v2'));
    assert.equal(cur.Spec.Labels, { a: 'b' });
    assert.equal(cur.Versions!.map((v) => [v.Version, v.ID]), [[1, s.ID], [2, r.ID]]);
    const old = tx.get('secret', s.ID) as Secret;
    assert.is(old.RetiredFrom, 'db');
    assert.is(old.Spec.Name, 'db@v1');
    const web = tx.getByName('service', 'web')!;
    assert.is(web.Spec.TaskTemplate.ContainerSpec!.Secrets![0].SecretID, r.ID);
    assert.is(web.Spec.TaskTemplate.ContainerSpec!.Secrets![0].SecretName, 'db');
    assert.is(web.PreviousSpec!.TaskTemplate.ContainerSpec!.Secrets![0].SecretID, s.ID);
  });
  // A second rotation counts on.
  const { value: r3 } = await store.update((tx) => rotatePayload(tx, 'secret', tx.getByName('secret', 'db') as Secret, b64('v3'), new Date()));
  assert.is(r3.Version, 3);
  assert.is((store.view((tx) => tx.get('secret', r.ID)) as Secret).Spec.Name, 'db@v2');
});

test('a retired version cannot be rotated, and bad data changes nothing', async () => {
  const { store, s } = await setup();
  await store.update((tx) => rotatePayload(tx, 'secret', tx.get('secret', s.ID) as Secret, b64('v2'), new Date()));
  let err: unknown;
  try {
    await store.update((tx) => rotatePayload(tx, 'secret', tx.get('secret', s.ID) as Secret, b64('v3'), new Date()));
  } catch (e) {
    err = e;
  }
  assert.match(String(err), /retired version of db/);
  const before = store.view((tx) => tx.list('secret').length);
  try {
    await store.update((tx) => rotatePayload(tx, 'secret', tx.getByName('secret', 'db') as Secret, 'not base64 !!', new Date()));
    assert.unreachable('bad data accepted');
  } catch (e) {
    assert.match(String(e), /base64|data/i);
  }
  assert.is(store.view((tx) => tx.list('secret').length), before);
});

test('a retired version is collected only when no service spec and no unfinished task refers to it', () => {
  const retired = { ID: 'old', RetiredFrom: 'db' } as Secret;
  const current = { ID: 'new' } as Secret;
  const svc = (id: string, prev?: string) => ({
    Spec: { TaskTemplate: { ContainerSpec: { Secrets: [{ SecretID: id }] } } },
    ...(prev ? { PreviousSpec: { TaskTemplate: { ContainerSpec: { Secrets: [{ SecretID: prev }] } } } } : {}),
  }) as never;
  const task = (id: string, state: string) => ({ Status: { State: state }, Spec: { ContainerSpec: { Secrets: [{ SecretID: id }] } } }) as unknown as Task;
  assert.equal(retiredUnused('secret', [retired, current], [{ ...(svc('new', 'old') as object), UpdateStatus: { State: 'updating' } } as never], []), [], 'the rollback target of an update in progress is kept');
  assert.equal(retiredUnused('secret', [retired, current], [{ ...(svc('new', 'old') as object), UpdateStatus: { State: 'completed' } } as never], []), ['old'], 'not once the update completed');
  assert.equal(retiredUnused('secret', [retired, current], [svc('new')], [task('old', 'running')]), [], 'a running task keeps it');
  assert.equal(retiredUnused('secret', [retired, current], [svc('new')], [task('old', 'shutdown'), task('new', 'running')]), ['old']);
});

test.run();
