import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConflictError, InvalidArgumentError, NotFoundError, UnavailableError } from '../api/errors.ts';
import { MemoryStore } from './memory-store.ts';
import { seededRandom } from './ids.ts';
import { ManualWallClock, RecordingProposer, aNetwork, aNode, aService, aTask } from './testing.ts';

function setup(seed = 1) {
  const clock = new ManualWallClock();
  let proposer!: RecordingProposer;
  const store = new MemoryStore({ clock, rand: seededRandom(seed), proposer: (s) => (proposer = new RecordingProposer(s)) });
  return { store, clock, proposer: () => proposer };
}

async function rejects(p: Promise<unknown>, cls: new (...a: any[]) => Error, message?: string | RegExp): Promise<Error> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, cls);
    if (typeof message === 'string') assert.is((err as Error).message, message);
    else if (message) assert.match((err as Error).message, message);
    return err as Error;
  }
  assert.unreachable(`expected a ${cls.name}`);
  throw new Error('unreachable');
}

test('create assigns a Docker-style ID, the log index as version, and the clock time', async () => {
  const { store } = setup();
  const { index, value: svc } = await store.update((tx) => tx.create('service', aService('web')));
  assert.is(index, 1);
  assert.match(svc.ID, /^[0-9a-z]{25}$/);
  const stored = store.view((tx) => tx.get('service', svc.ID))!;
  assert.is(stored.Version.Index, 1);
  assert.is(stored.CreatedAt, '2026-01-01T00:00:00.000Z');
  assert.is(stored.UpdatedAt, stored.CreatedAt);
  assert.is(store.lastIndex, 1);
});

test('update with the version read bumps Version.Index and UpdatedAt and keeps CreatedAt', async () => {
  const { store, clock } = setup();
  const { value: svc } = await store.update((tx) => tx.create('service', aService('web')));
  await store.update((tx) => tx.create('network', aNetwork('n1')));
  clock.advance(5000);
  const read = store.view((tx) => tx.get('service', svc.ID))!;
  const next = structuredClone(read);
  next.Spec.Mode = { Replicated: { Replicas: 3 } };
  const { index } = await store.update((tx) => tx.update('service', next));
  const after = store.view((tx) => tx.get('service', svc.ID))!;
  assert.is(index, 3);
  assert.is(after.Version.Index, 3);
  assert.equal(after.Spec.Mode, { Replicated: { Replicas: 3 } });
  assert.is(after.CreatedAt, '2026-01-01T00:00:00.000Z');
  assert.is(after.UpdatedAt, '2026-01-01T00:00:05.000Z');
});

test('a stale version is refused with "update out of sequence" (409) and proposes nothing', async () => {
  const { store, proposer } = setup();
  const { value: svc } = await store.update((tx) => tx.create('service', aService('web')));
  const stale = structuredClone(store.view((tx) => tx.get('service', svc.ID))!);
  await store.update((tx) => tx.update('service', structuredClone(stale)));
  const err = await rejects(store.update((tx) => tx.update('service', stale)), ConflictError, 'update out of sequence');
  assert.is((err as ConflictError).status, 409);
  assert.is(proposer().log.length, 2);
});

test('update and delete of a missing object are NotFoundError', async () => {
  const { store } = setup();
  const { value: svc } = await store.update((tx) => tx.create('service', aService('web')));
  await store.update((tx) => tx.delete('service', svc.ID));
  await rejects(store.update((tx) => tx.update('service', svc)), NotFoundError, `service ${svc.ID} not found`);
  await rejects(store.update((tx) => tx.delete('service', svc.ID)), NotFoundError);
  assert.is(store.view((tx) => tx.get('service', svc.ID)), undefined);
});

test('service names are unique and the conflict names the object; node hostnames are not', async () => {
  const { store } = setup();
  await store.update((tx) => tx.create('service', aService('web')));
  await rejects(store.update((tx) => tx.create('service', aService('web'))), ConflictError, 'service web already exists');
  await store.update((tx) => {
    tx.create('node', aNode('host-a'));
    tx.create('node', aNode('host-a'));
  });
  assert.is(store.view((tx) => tx.find('node', { name: 'host-a' })).length, 2);
  await rejects(
    store.update((tx) => tx.create('secret', { Spec: { Name: '', Labels: {} } })),
    InvalidArgumentError,
    'secret name is required',
  );
});

test('a renamed object frees its name within the same transaction', async () => {
  const { store } = setup();
  const { value: a } = await store.update((tx) => tx.create('service', aService('a')));
  await store.update((tx) => {
    const cur = structuredClone(tx.get('service', a.ID)!);
    cur.Spec.Name = 'b';
    tx.update('service', cur);
    tx.create('service', aService('a'));
  });
  const names = store.view((tx) => tx.list('service').map((s) => s.Spec.Name)).sort();
  assert.equal(names, ['a', 'b']);
  await store.update((tx) => {
    tx.delete('service', tx.getByName('service', 'b')!.ID);
    tx.create('service', aService('b'));
  });
  assert.is(store.view((tx) => tx.list('service')).length, 2);
});

test('a transaction with one bad write changes nothing and proposes nothing', async () => {
  const { store, proposer } = setup();
  const { value: svc } = await store.update((tx) => tx.create('service', aService('web')));
  const stale = { ...structuredClone(svc), Version: { Index: 99 } };
  await rejects(
    store.update((tx) => {
      tx.create('service', aService('api'));
      tx.create('task', aTask(svc.ID, 1));
      tx.update('service', stale);
    }),
    ConflictError,
  );
  assert.is(proposer().log.length, 1);
  assert.is(store.view((tx) => tx.list('service').length), 1);
  assert.is(store.view((tx) => tx.list('task').length), 0);
});

test('a conflict found at apply time rejects the whole transaction and advances the index', async () => {
  const { store } = setup();
  const { value: svc } = await store.update((tx) => tx.create('service', aService('web')));
  const read = store.view((tx) => tx.get('service', svc.ID))!;
  // Two writers read version 1 and propose concurrently: the first wins, the second is refused at apply.
  const first = store.update((tx) => tx.update('service', { ...structuredClone(read), Spec: { ...read.Spec, Labels: { w: '1' } } }));
  const second = store.update((tx) => {
    tx.create('task', aTask(svc.ID, 1));
    tx.update('service', { ...structuredClone(read), Spec: { ...read.Spec, Labels: { w: '2' } } });
  });
  await first;
  await rejects(second, ConflictError, 'update out of sequence');
  assert.equal(store.view((tx) => tx.get('service', svc.ID))!.Spec.Labels, { w: '1' });
  assert.is(store.view((tx) => tx.list('task').length), 0);
  assert.is(store.lastIndex, 3);
});

test('a delete quoting no version goes whatever was written meanwhile; one quoting a version is refused', async () => {
  const { store } = setup();
  const { value: a } = await store.update((tx) => tx.create('service', aService('a')));
  const { value: b } = await store.update((tx) => tx.create('service', aService('b')));
  const relabel = (id: string) => store.update((tx) => tx.update('service', { ...structuredClone(tx.get('service', id)!), Spec: { ...tx.get('service', id)!.Spec, Labels: { w: '1' } } }));
  // Each write is proposed before the delete is built, and applied before it.
  const writeA = relabel(a.ID);
  const delA = store.update((tx) => tx.delete('service', a.ID));
  await writeA;
  await delA;
  assert.is(store.view((tx) => tx.get('service', a.ID)), undefined);
  const writeB = relabel(b.ID);
  const delB = store.update((tx) => tx.delete('service', b.ID, b.Version.Index));
  await writeB;
  await rejects(delB, ConflictError, 'update out of sequence');
  assert.ok(store.view((tx) => tx.get('service', b.ID)));
});

test('applyCommitted is all or nothing for a hand-made action list', async () => {
  const { store } = setup();
  const { value: svc } = await store.update((tx) => tx.create('service', aService('web')));
  const before = store.snapshot();
  assert.throws(
    () =>
      store.applyCommitted(
        [
          { action: 'create', kind: 'service', object: { ...svc, ID: 'x'.repeat(25), Spec: { ...svc.Spec, Name: 'api' } } },
          { action: 'delete', kind: 'task', object: { ID: 'nope' } as any },
        ],
        2,
      ),
    (e: Error) => e instanceof NotFoundError,
  );
  assert.is(store.view((tx) => tx.list('service').length), 1);
  assert.is(store.lastIndex, 2);
  assert.not.equal(store.snapshot(), before); // the index moved
});

test('applyCommitted refuses an index at or below the last applied one', async () => {
  const { store } = setup();
  await store.update((tx) => tx.create('service', aService('web')));
  assert.throws(() => store.applyCommitted([], 1), /in log order/);
});

test('find uses the task indexes and the service name prefix', async () => {
  const { store } = setup();
  const { value: ids } = await store.update((tx) => {
    const web = tx.create('service', aService('web'));
    const webApi = tx.create('service', aService('web-api'));
    const db = tx.create('service', aService('db'));
    tx.create('task', aTask(web.ID, 1, 'node1'));
    tx.create('task', aTask(web.ID, 2, 'node2'));
    const t3 = tx.create('task', aTask(db.ID, 1, 'node1'));
    tx.update('task', { ...structuredClone(t3), DesiredState: 'shutdown' });
    return { web: web.ID, webApi: webApi.ID, db: db.ID };
  });
  store.view((tx) => {
    assert.equal(tx.find('task', { serviceId: ids.web }).map((t) => t.Slot).sort(), [1, 2]);
    assert.is(tx.find('task', { nodeId: 'node1' }).length, 2);
    assert.is(tx.find('task', { nodeId: 'node1', desiredState: 'running' }).length, 1);
    assert.is(tx.find('task', { desiredState: 'shutdown' })[0].ServiceID, ids.db);
    assert.equal(tx.find('service', { namePrefix: 'web' }).map((s) => s.Spec.Name).sort(), ['web', 'web-api']);
    assert.is(tx.getByName('service', 'db')!.ID, ids.db);
    assert.is(tx.list('task', (t) => t.Slot === 2).length, 1);
    assert.throws(() => tx.find('service', { nodeId: 'x' } as never), /no index nodeId/);
    assert.throws(() => tx.getByName('node', 'x'), /not unique/);
  });
});

test('a write transaction reads its own writes', async () => {
  const { store } = setup();
  await store.update((tx) => {
    const s = tx.create('service', aService('web'));
    assert.is(tx.get('service', s.ID)!.Spec.Name, 'web');
    tx.create('task', aTask(s.ID, 1));
    assert.is(tx.find('task', { serviceId: s.ID }).length, 1);
    tx.delete('service', s.ID);
    assert.is(tx.get('service', s.ID), undefined);
    assert.is(tx.getByName('service', 'web'), undefined);
  });
  assert.is(store.view((tx) => tx.list('service').length), 0);
  assert.is(store.view((tx) => tx.list('task').length), 1);
});

test('read objects are frozen and a view cannot be kept or made async', async () => {
  const { store } = setup();
  const { value: s } = await store.update((tx) => tx.create('service', aService('web')));
  const got = store.view((tx) => tx.get('service', s.ID))!;
  assert.throws(() => {
    (got.Spec as { Name: string }).Name = 'x';
  });
  const kept = store.view((tx) => tx);
  assert.throws(() => kept.get('service', s.ID), /after its callback returned/);
  assert.throws(() => store.view(async () => 1), /synchronous/);
  assert.throws(() => store.view((tx) => (tx as any).create('service', aService('x'))), /read-only/);
});

test('a transaction without changes proposes nothing', async () => {
  const { store, proposer } = setup();
  const { index, value } = await store.update((tx) => tx.list('service').length);
  assert.is(index, 0);
  assert.is(value, 0);
  assert.is(proposer().log.length, 0);
});

test('values that are not plain data are refused before proposing', async () => {
  const { store } = setup();
  await rejects(
    store.update((tx) => tx.create('service', { ...aService('web'), Spec: { ...aService('web').Spec, Labels: { a: (() => 1) as any } } })),
    InvalidArgumentError,
  );
  await rejects(store.update((tx) => tx.create('service', { ...aService('web'), ID: 'bad id!' })), InvalidArgumentError);
});

test('a task state never moves backward', async () => {
  const { store } = setup();
  const { value: t } = await store.update((tx) => tx.create('task', { ...aTask('svc', 1), Status: { Timestamp: '', State: 'running', Message: '' } }));
  const read = store.view((tx) => tx.get('task', t.ID))!;
  await rejects(
    store.update((tx) => tx.update('task', { ...structuredClone(read), Status: { ...read.Status, State: 'assigned' } })),
    InvalidArgumentError,
    /cannot move back from running to assigned/,
  );
  await store.update((tx) => tx.update('task', { ...structuredClone(read), Status: { ...read.Status, State: 'failed' } }));
  const failed = store.view((tx) => tx.get('task', t.ID))!;
  // Terminal states share a rank: failed → shutdown is not a move back.
  await store.update((tx) => tx.update('task', { ...structuredClone(failed), Status: { ...failed.Status, State: 'shutdown' } }));
});

test('a proposer failure rejects the update and changes nothing', async () => {
  const store = new MemoryStore({
    clock: new ManualWallClock(),
    rand: seededRandom(1),
    proposer: () => ({ propose: async () => Promise.reject(new UnavailableError('raft: no leader')) }),
  });
  const err = await rejects(store.update((tx) => tx.create('service', aService('web'))), UnavailableError, 'raft: no leader');
  assert.ok((err as UnavailableError).retryable);
  assert.is(store.lastIndex, 0);
  assert.is(store.view((tx) => tx.list('service').length), 0);
});

test.run();
