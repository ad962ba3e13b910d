import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Cluster } from './cluster.ts';
import type { SimNode } from './sim-node.ts';

const enc = new TextEncoder();

function singleNode(snapshotEvery = 0): { c: Cluster; n: SimNode } {
  const c = new Cluster({
    seed: 1,
    voters: 1,
    raft: { electionTick: 10, heartbeatTick: 1, preVote: false, checkQuorum: false },
    snapshot: { every: snapshotEvery, keep: 0 },
  });
  const n = c.nodes.get('n1')!;
  for (let i = 0; i < 200 && !n.raw!.status().hardState.commit; i++) c.step();
  for (let i = 0; i < 200 && c.leader() === undefined; i++) c.step();
  assert.ok(c.leader(), 'a single node elects itself');
  return { c, n };
}

test('a crash before persisting a Ready loses its entries; a restart sees only the disk', () => {
  const { c, n } = singleNode();
  const last = n.log.lastIndex();
  n.raw!.propose(enc.encode('lost'));
  assert.not.ok(n.handleReady('before-persist'));
  assert.not.ok(n.up);
  assert.is(n.log.lastIndex(), last);
  c.restart(n);
  assert.is(n.log.lastIndex(), last);
  assert.is(n.applied, 1, 'applied restarts at the bootstrap snapshot');
});

test('a crash after persisting keeps the entries, and the restarted node applies them again', () => {
  const { c, n } = singleNode();
  n.raw!.propose(enc.encode('kept'));
  assert.not.ok(n.handleReady('after-persist'));
  const last = n.log.lastIndex();
  c.restart(n);
  assert.is(n.log.lastIndex(), last);
  for (let i = 0; i < 400 && n.applied < last; i++) c.step();
  assert.ok(n.applied >= last, 'the new incarnation applied the persisted entry');
  assert.equal(new TextDecoder().decode(n.log.entries(last, last + 1, 1e9)[0].data), 'kept');
});

test('a restart takes applied from the last persisted app snapshot', () => {
  const { c, n } = singleNode(2);
  for (let i = 0; i < 5; i++) {
    n.raw!.propose(enc.encode(`e${i}`));
    c.step();
  }
  for (let i = 0; i < 50; i++) c.step();
  const snap = n.log.snapshot().metadata.index;
  assert.ok(snap > 1, `snapshot at ${snap}`);
  c.crash(n, 'test');
  c.restart(n);
  assert.is(n.applied, snap);
});

test.run();
