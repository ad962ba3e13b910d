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

test.run();
