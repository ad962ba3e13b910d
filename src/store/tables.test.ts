// findCommitted answers from a per-table cache that every write to the table drops.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Table, findCommitted } from './tables.ts';
import { normalize } from './codec.ts';
import type { StoreObject } from './objects.ts';

function task(id: string, serviceId: string, nodeId?: string): StoreObject {
  return normalize({ ID: id, ServiceID: serviceId, ...(nodeId ? { NodeID: nodeId } : {}), DesiredState: 'running', Version: { Index: 1 } }) as unknown as StoreObject;
}

test('a find after a put or remove sees the write (the cached answer is dropped)', () => {
  const t = new Table('task');
  t.put(task('b', 's1'));
  t.put(task('a', 's1'));
  assert.equal(findCommitted(t, { serviceId: 's1' }).map((o) => o.ID), ['a', 'b']);
  t.put(task('c', 's1'));
  assert.equal(findCommitted(t, { serviceId: 's1' }).map((o) => o.ID), ['a', 'b', 'c']);
  t.remove('a');
  assert.equal(findCommitted(t, { serviceId: 's1' }).map((o) => o.ID), ['b', 'c']);
  t.put(task('b', 's2'));
  assert.equal(findCommitted(t, { serviceId: 's1' }).map((o) => o.ID), ['c'], 'a moved object leaves the old answer');
  assert.equal(findCommitted(t, {}).map((o) => o.ID), ['b', 'c']);
});

test('distinct queries are cached apart, and callers get their own arrays', () => {
  const t = new Table('task');
  t.put(task('a', 's1', 'n1'));
  t.put(task('b', 's1', 'n2'));
  assert.equal(findCommitted(t, { nodeId: 'n1' }).map((o) => o.ID), ['a']);
  assert.equal(findCommitted(t, { nodeId: 'n2' }).map((o) => o.ID), ['b']);
  assert.equal(findCommitted(t, { serviceId: 's1', nodeId: 'n2' }).map((o) => o.ID), ['b']);
  assert.equal(findCommitted(t, { serviceId: 's1', nodeId: undefined }).map((o) => o.ID), ['a', 'b']);
  const mine = findCommitted(t, { serviceId: 's1' });
  mine.pop();
  mine.push(task('z', 's1'));
  assert.equal(findCommitted(t, { serviceId: 's1' }).map((o) => o.ID), ['a', 'b'], 'a caller\'s edits do not reach the cache');
});

test('answers are sorted by ID whether walked in kept order or sorted, across creates, updates and removes', () => {
  const t = new Table('task');
  const ids = Array.from({ length: 200 }, (_, i) => `id${(i * 7919) % 1000}`);
  ids.forEach((id, i) => t.put(task(id, i % 10 === 0 ? 'small' : 'big', `n${i % 3}`)));
  const sorted = (xs: string[]) => [...xs].sort();
  const check = () => {
    for (const by of [{}, { serviceId: 'big' }, { serviceId: 'small' }, { nodeId: 'n1' }, { serviceId: 'big', nodeId: 'n2' }]) {
      const got = findCommitted(t, by).map((o) => o.ID);
      assert.equal(got, sorted(got), `sorted for ${JSON.stringify(by)}`);
    }
  };
  check();
  assert.is(findCommitted(t, {}).length, 200);
  assert.is(findCommitted(t, { serviceId: 'small' }).length, 20);
  t.put(task('aaa', 'big', 'n1'));
  t.put(task(ids[5], 'small', 'n1')); // an update: same ID
  t.remove(ids[6]);
  check();
  assert.is(findCommitted(t, {}).length, 200);
  assert.ok(findCommitted(t, {}).some((o) => o.ID === 'aaa') && !findCommitted(t, {}).some((o) => o.ID === ids[6]));
});

test.run();
