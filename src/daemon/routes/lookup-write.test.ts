// findService inside a write: a service this manager does not know yet (its state is
// behind the leader's) is looked up again after the store's read barrier, and without a
// leader the answer is the barrier's 503, never a stale 404 (chaos harness, seed 1).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NotFoundError, UnavailableError } from '../../api/errors.ts';
import { LocalProposer } from '../../store/local-proposer.ts';
import { MemoryStore } from '../../store/memory-store.ts';
import { aService } from '../../store/testing.ts';
import { findService } from './lookup.ts';

/** A store whose proposer's barrier runs `barrier` (a follower catching up, or no leader). */
function replica(barrier: (store: MemoryStore) => Promise<void>): { store: MemoryStore; barriers: () => number } {
  let n = 0;
  const self: MemoryStore = new MemoryStore({
    proposer: (s) => {
      const local = new LocalProposer(s);
      return { propose: (a) => local.propose(a), barrier: async () => { n++; await barrier(self); } };
    },
  });
  return { store: self, barriers: () => n };
}

const lookUp = (store: MemoryStore, ref: string) => store.update((tx) => findService(tx, ref).Spec.Name).then((r) => r.value);

test('found at once: no barrier', async () => {
  const { store, barriers } = replica(async () => {});
  await store.update((tx) => tx.create('service', aService('web')));
  assert.is(await lookUp(store, 'web'), 'web');
  assert.is(barriers(), 0);
});

test('not known here yet: found after the barrier caught up', async () => {
  const { store, barriers } = replica(async (s) => { await s.update((tx) => tx.create('service', aService('late'))); });
  assert.is(await lookUp(store, 'late'), 'late');
  assert.is(barriers(), 1);
});

test('no leader: 503 from the barrier; a service that does not exist: 404 after it', async () => {
  const down = replica(async () => { throw new UnavailableError('no quorum'); });
  await lookUp(down.store, 'web').then(() => assert.unreachable(), (err) => assert.instance(err, UnavailableError));
  const up = replica(async () => {});
  await lookUp(up.store, 'none').then(() => assert.unreachable(), (err) => assert.instance(err, NotFoundError));
  assert.is(up.barriers(), 1);
});

test.run();
