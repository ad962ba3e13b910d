// A write refused from a replica's own state is confirmed through the proposer's read
// barrier first: a follower behind the leader must not answer 404 for an object the
// leader acknowledged (found by the chaos harness, seed 1: `secret rm` on a partitioned
// manager answered 404 for a secret created a moment before through another manager).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NotFoundError, UnavailableError } from '../api/errors.ts';
import type { Proposer, StoreAction } from './actions.ts';
import { MemoryStore } from './memory-store.ts';
import { LocalProposer } from './local-proposer.ts';
import { RecordingProposer, aSecret } from './testing.ts';

/** A leader store (recording its log) and a follower that catches up only at a barrier. */
function pair(barrier: 'catch-up' | 'fail') {
  let log!: RecordingProposer;
  const leader = new MemoryStore({ proposer: (s) => (log = new RecordingProposer(s)) });
  let barriers = 0;
  const follower = new MemoryStore({
    proposer: (s): Proposer => {
      const local = new LocalProposer(s);
      return {
        propose: (a: readonly StoreAction[]) => local.propose(a),
        barrier: async () => {
          barriers++;
          if (barrier === 'fail') throw new UnavailableError('no quorum');
          for (const e of log.log) if (e.index > s.lastIndex) s.applyCommitted(e.actions, e.index);
        },
      };
    },
  });
  return { leader, follower, barriers: () => barriers };
}

const rmByName = (name: string) => (tx: Parameters<Parameters<MemoryStore['update']>[0]>[0]) => {
  const o = tx.getByName('secret', name);
  if (!o) throw new NotFoundError(`secret ${name} not found`);
  tx.delete('secret', o.ID);
};

test('a stale follower catches up at the barrier and does the write instead of answering 404', async () => {
  const p = pair('catch-up');
  await p.leader.update((tx) => tx.create('secret', aSecret('s1', 'x')));
  assert.is(p.follower.view((tx) => tx.getByName('secret', 's1')), undefined, 'the follower is behind');
  await p.follower.update(rmByName('s1'));
  assert.is(p.barriers(), 1);
  assert.is(p.follower.view((tx) => tx.getByName('secret', 's1')), undefined);
});

test('a follower that cannot reach a leader answers 503, not a stale 404', async () => {
  const p = pair('fail');
  await p.leader.update((tx) => tx.create('secret', aSecret('s1', 'x')));
  try {
    await p.follower.update(rmByName('s1'));
    assert.unreachable('refused');
  } catch (err) {
    assert.instance(err, UnavailableError);
  }
});

test('a real 404 stays a 404 after the barrier; writes that pass need no barrier', async () => {
  const p = pair('catch-up');
  await p.follower.update((tx) => tx.create('secret', aSecret('mine', 'x')));
  assert.is(p.barriers(), 0);
  try {
    await p.follower.update(rmByName('nothing'));
    assert.unreachable('refused');
  } catch (err) {
    assert.instance(err, NotFoundError);
  }
  assert.is(p.barriers(), 1);
});

test.run();
