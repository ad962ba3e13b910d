import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryStore } from './memory-store.ts';
import { seededRandom } from './ids.ts';
import { WatchResyncError } from './watch.ts';
import type { StoreEvent } from './watch.ts';
import { ManualWallClock, aNode, aService, aTask } from './testing.ts';

function newStore() {
  return new MemoryStore({ clock: new ManualWallClock(), rand: seededRandom(7) });
}

/** Reads what a watch has queued, without waiting for more. */
async function drain(w: AsyncIterator<StoreEvent>, n: number): Promise<StoreEvent[]> {
  const out: StoreEvent[] = [];
  for (let i = 0; i < n; i++) out.push((await w.next()).value);
  return out;
}

test('each transaction publishes its object events in order, then one commit marker', async () => {
  const store = newStore();
  const w = store.watch();
  const { value: svc } = await store.update((tx) => {
    const s = tx.create('service', aService('web'));
    tx.create('task', aTask(s.ID, 1));
    return s;
  });
  const read = store.view((tx) => tx.get('service', svc.ID))!;
  await store.update((tx) => tx.update('service', { ...structuredClone(read), Spec: { ...read.Spec, Labels: { a: 'b' } } }));
  await store.update((tx) => tx.delete('service', svc.ID));
  const events = await drain(w, 7);
  assert.equal(
    events.map((e) => e.kind),
    ['service.created', 'task.created', 'commit', 'service.updated', 'commit', 'service.deleted', 'commit'],
  );
  assert.equal(events[2], { kind: 'commit', index: 1 });
  const upd = events[3];
  if (upd.kind !== 'service.updated') throw new Error('unreachable');
  assert.is(upd.old.Version.Index, 1);
  assert.is(upd.object.Version.Index, 2);
  assert.equal(upd.object.Spec.Labels, { a: 'b' });
  const del = events[5];
  assert.is(del.kind === 'service.deleted' && del.object.ID, svc.ID);
  assert.is(w.pending, 0);
  w.close();
});

test('a rejected transaction publishes nothing', async () => {
  const store = newStore();
  await store.update((tx) => tx.create('service', aService('web')));
  const w = store.watch();
  await store.update((tx) => tx.create('service', aService('web'))).catch(() => undefined);
  assert.throws(() => store.applyCommitted([{ action: 'delete', kind: 'node', object: { ID: 'gone' } as any }], 5));
  assert.is(w.pending, 0);
  w.close();
});

test('watches filter by kind and by predicate; commit markers can be turned off', async () => {
  const store = newStore();
  const tasks = store.watch({ kinds: ['task'] });
  const running = store.watch({ kinds: ['task'], filter: (e) => e.kind === 'task.created' && e.object.DesiredState === 'running', commits: false });
  await store.update((tx) => {
    const s = tx.create('service', aService('web'));
    tx.create('task', aTask(s.ID, 1));
    tx.create('task', { ...aTask(s.ID, 2), DesiredState: 'shutdown' });
    tx.create('node', aNode('h1'));
  });
  assert.equal((await drain(tasks, 3)).map((e) => e.kind), ['task.created', 'task.created', 'commit']);
  assert.is(tasks.pending, 0);
  const only = await drain(running, 1);
  assert.is(only[0].kind === 'task.created' && only[0].object.Slot, 1);
  assert.is(running.pending, 0);
  tasks.close();
  running.close();
});

test('a callback subscription sees events synchronously and stops when unsubscribed', async () => {
  const store = newStore();
  const seen: string[] = [];
  let closed = false;
  const unsubscribe = store.subscribe((e) => seen.push(e.kind), { onClose: () => (closed = true) });
  await store.update((tx) => tx.create('node', aNode('h1')));
  assert.equal(seen, ['node.created', 'commit']);
  unsubscribe();
  assert.ok(closed);
  await store.update((tx) => tx.create('node', aNode('h2')));
  assert.is(seen.length, 2);
  assert.is(store.watchCount, 0);
});

test('a callback that throws is closed with its error and the store goes on', async () => {
  const store = newStore();
  let closedWith: Error | undefined;
  store.subscribe(
    () => {
      throw new Error('boom');
    },
    { onClose: (err) => (closedWith = err) },
  );
  const other: string[] = [];
  store.subscribe((e) => other.push(e.kind));
  await store.update((tx) => tx.create('node', aNode('h1')));
  assert.is(closedWith?.message, 'boom');
  assert.equal(other, ['node.created', 'commit']);
  assert.is(store.watchCount, 1);
});

test('a slow watcher is closed with WatchResyncError instead of blocking the store', async () => {
  const store = newStore();
  const slow = store.watch({ limit: 10 });
  const fast = store.watch();
  for (let i = 0; i < 8; i++) await store.update((tx) => tx.create('node', aNode(`h${i}`)));
  assert.is(store.lastIndex, 8);
  assert.is(fast.pending, 16);
  assert.is(store.watchCount, 1);
  try {
    await slow.next();
    assert.unreachable('expected WatchResyncError');
  } catch (err) {
    assert.instance(err, WatchResyncError);
    assert.match((err as Error).message, /queue overflow/);
  }
  assert.equal(await slow.next(), { value: undefined, done: true });
  fast.close();
});

test('for await receives events as they come; break unsubscribes', async () => {
  const store = newStore();
  const w = store.watch({ kinds: ['node'], commits: false });
  const got: string[] = [];
  const reader = (async () => {
    for await (const e of w) {
      if (e.kind === 'node.created') got.push(e.object.Description.Hostname);
      if (got.length === 2) break;
    }
  })();
  await store.update((tx) => tx.create('node', aNode('h1')));
  await store.update((tx) => tx.create('node', aNode('h2')));
  await reader;
  assert.equal(got, ['h1', 'h2']);
  assert.is(store.watchCount, 0);
});

test('close() ends a pending next() with done', async () => {
  const store = newStore();
  const w = store.watch();
  const pending = w.next();
  w.close();
  assert.equal(await pending, { value: undefined, done: true });
});

test('viewAndWatch misses nothing between the read and the watch', async () => {
  const store = newStore();
  await store.update((tx) => tx.create('node', aNode('h1')));
  const { value: count, watch } = store.viewAndWatch((tx) => tx.list('node').length, { commits: false });
  await store.update((tx) => tx.create('node', aNode('h2')));
  assert.is(count, 1);
  assert.is((await watch.next()).value?.kind, 'node.created');
  watch.close();
});

test('a watch callback may start a write: it is applied after the current one', async () => {
  const store = newStore();
  const done = new Promise<void>((resolve) => {
    store.subscribe((e) => {
      if (e.kind === 'service.created') {
        void store.update((tx) => tx.create('task', aTask(e.object.ID, 1))).then(() => resolve());
      }
    });
  });
  await store.update((tx) => tx.create('service', aService('web')));
  await done;
  assert.is(store.view((tx) => tx.list('task').length), 1);
  assert.is(store.lastIndex, 2);
});

test('restore closes every watch with WatchResyncError', async () => {
  const store = newStore();
  const snap = store.snapshot();
  const w = store.watch();
  let closedWith: Error | undefined;
  store.subscribe(() => undefined, { onClose: (err) => (closedWith = err) });
  store.restore(snap);
  assert.instance(closedWith, WatchResyncError);
  try {
    await w.next();
    assert.unreachable('expected WatchResyncError');
  } catch (err) {
    assert.instance(err, WatchResyncError);
  }
});

test.run();
