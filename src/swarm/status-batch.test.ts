import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { STATUS_BATCH_MAX, takeStatusBatch } from './status-batch.ts';

test('reports are taken oldest first, at most max per batch, and leave the queue', () => {
  const pending = new Map<string, number>();
  for (let i = 0; i < 1234; i++) pending.set(`t${i}`, i);
  const sizes: number[] = [];
  const seen: number[] = [];
  while (pending.size) {
    const b = takeStatusBatch(pending, 500);
    sizes.push(b.length);
    seen.push(...b);
  }
  assert.equal(sizes, [500, 500, 234]);
  assert.equal(seen, [...Array(1234).keys()], 'every report once, in queue order');
});

test('a newer report of a queued task keeps its place and replaces the value', () => {
  const pending = new Map([['a', 1], ['b', 2]]);
  pending.set('a', 3);
  assert.equal(takeStatusBatch(pending, 1), [3]);
  assert.equal(takeStatusBatch(pending), [2]);
  assert.equal(takeStatusBatch(pending), []);
});

test('the default batch is bounded and a batch size below 1 is refused', () => {
  const pending = new Map<string, number>();
  for (let i = 0; i < STATUS_BATCH_MAX + 1; i++) pending.set(String(i), i);
  assert.is(takeStatusBatch(pending).length, STATUS_BATCH_MAX);
  assert.throws(() => takeStatusBatch(pending, 0), /at least 1/);
});

test.run();
