// resolveServiceForWrite: a service this manager does not know yet (its state is behind
// the leader's) is looked up again after a read barrier, and without a leader the answer
// is the barrier's 503, never a stale 404 (chaos harness, seed 1).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NotFoundError, UnavailableError } from '../../api/errors.ts';
import type { Manager } from '../../manager/manager.ts';
import { MemoryStore } from '../../store/memory-store.ts';
import { aService } from '../../store/testing.ts';
import { resolveServiceForWrite } from './lookup.ts';

function manager(barrier: (store: MemoryStore) => Promise<void>): { m: Manager; barriers: () => number } {
  const store = new MemoryStore();
  let n = 0;
  const m = { store, barrier: async () => { n++; await barrier(store); } } as unknown as Manager;
  return { m, barriers: () => n };
}

test('found at once: no barrier', async () => {
  const { m, barriers } = manager(async () => {});
  await m.store.update((tx) => tx.create('service', aService('web')));
  assert.is((await resolveServiceForWrite(m, 'web')).Spec.Name, 'web');
  assert.is(barriers(), 0);
});

test('not known here yet: found after the barrier caught up', async () => {
  const { m, barriers } = manager(async (s) => { await s.update((tx) => tx.create('service', aService('late'))); });
  assert.is((await resolveServiceForWrite(m, 'late')).Spec.Name, 'late');
  assert.is(barriers(), 1);
});

test('no leader: 503 from the barrier; a service that does not exist: 404 after it', async () => {
  const down = manager(async () => { throw new UnavailableError('no quorum'); });
  await resolveServiceForWrite(down.m, 'web').then(() => assert.unreachable(), (err) => assert.instance(err, UnavailableError));
  const up = manager(async () => {});
  await resolveServiceForWrite(up.m, 'none').then(() => assert.unreachable(), (err) => assert.instance(err, NotFoundError));
  assert.is(up.barriers(), 1);
});

test.run();
