import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { applyKeyAction, nextKeyAction, type NetworkKeyRecord } from './schedule.ts';

const HOUR = 3600_000;
const rec = (over: Partial<NetworkKeyRecord> = {}): NetworkKeyRecord => ({ Key: 'k1', Generation: 1, CreatedAt: 1000, Nodes: ['a', 'b'], ...over });

test('the first key is made at once, for every node', () => {
  assert.equal(nextKeyAction(undefined, { now: 5, nodes: ['b', 'a'] }), { kind: 'rotate', reason: 'initial', nodes: ['a', 'b'] });
});

test('nothing is made or rotated while no encrypted network needs a key', () => {
  assert.equal(nextKeyAction(undefined, { now: 5, nodes: ['a'], needed: false }), { kind: 'none', dueAt: Infinity });
  assert.is(nextKeyAction(rec(), { now: 1e12, nodes: [], needed: false }).kind, 'none');
});

test('a key rotates when its period is over, not before', () => {
  assert.equal(nextKeyAction(rec(), { now: 1000 + HOUR - 1, nodes: ['a', 'b'], rotateMs: HOUR }), { kind: 'none', dueAt: 1000 + HOUR });
  assert.is(nextKeyAction(rec(), { now: 1000 + HOUR, nodes: ['a', 'b'], rotateMs: HOUR }).kind, 'rotate');
});

test('a removed node makes the key rotate at once', () => {
  const a = nextKeyAction(rec(), { now: 1001, nodes: ['a'], rotateMs: HOUR });
  assert.equal(a, { kind: 'rotate', reason: 'node-removed', nodes: ['a'] });
  const next = applyKeyAction(rec(), a, { now: 1001, key: 'k2' });
  assert.equal(next, { Key: 'k2', Generation: 2, CreatedAt: 1001, Nodes: ['a'] });
});

test('a node that joins is recorded, the key kept', () => {
  const a = nextKeyAction(rec(), { now: 1001, nodes: ['a', 'b', 'c'], rotateMs: HOUR });
  assert.equal(a, { kind: 'track', nodes: ['a', 'b', 'c'], dueAt: 1000 + HOUR });
  assert.equal(applyKeyAction(rec(), a, { now: 1001, key: 'unused' }), rec({ Nodes: ['a', 'b', 'c'] }));
});

test('property: after the action, every current node holds the key and none that left does; generations only grow', () => {
  const ids = fc.uniqueArray(fc.constantFrom<string>('a', 'b', 'c', 'd', 'e'), { maxLength: 5 });
  fc.assert(fc.property(fc.array(fc.tuple(ids, fc.integer({ min: 0, max: 5 * HOUR })), { maxLength: 20 }), (steps) => {
    let cur: NetworkKeyRecord | undefined;
    let now = 0;
    let n = 0;
    for (const [nodes, dt] of steps) {
      now += dt;
      const before = cur;
      const action = nextKeyAction(cur, { now, nodes, rotateMs: 2 * HOUR });
      cur = applyKeyAction(cur, action, { now, key: `k${++n}` });
      assert.equal(cur!.Nodes, [...nodes].sort());
      assert.ok(cur!.Generation >= (before?.Generation ?? 1));
      assert.ok(now - cur!.CreatedAt < 2 * HOUR, 'never older than the period after a pass');
      if (before && before.Nodes.some((id) => !nodes.includes(id))) assert.is.not(cur!.Key, before.Key, 'rotated after a removal');
    }
  }));
});

test.run();
