import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { ViewWatermark } from './view-watermark.ts';

test('the watermark waits for the slowest node that is applying a view', () => {
  const w = new ViewWatermark<string>();
  for (const n of ['a', 'b']) w.add(n);
  w.computed(10);
  w.sent('a', 10); w.sent('b', 10);
  w.acked('a', 10); w.acked('b', 10);
  assert.is(w.value, 10);
  w.computed(12);
  w.sent('a', 12); // b's view did not change at 12: b is caught up
  assert.is(w.value, 10, 'a has not applied generation 12 yet');
  w.acked('a', 12);
  assert.is(w.value, 12);
});

test('a node that left, or never acknowledged, holds nothing back', () => {
  const w = new ViewWatermark<string>();
  w.add('old'); w.add('slow');
  w.computed(5); w.sent('old', 5); w.sent('slow', 5); w.acked('slow', 3);
  assert.is(w.value, 3, 'slow is applying 5 and has applied 3; old never acknowledges');
  w.computed(7); w.sent('slow', 7);
  assert.is(w.value, 3);
  w.remove('slow');
  assert.is(w.value, 7);
});

test('an acknowledgement beyond what was sent cannot lift the watermark', () => {
  const w = new ViewWatermark<string>();
  w.add('a'); w.add('b');
  w.computed(4); w.sent('a', 4); w.sent('b', 4); w.acked('a', 4); w.acked('b', 4);
  w.computed(9); w.sent('a', 9); w.sent('b', 9);
  w.acked('a', 1e9);
  w.acked('b', 8);
  assert.is(w.value, 8, 'b applied only 8 of 9');
  w.acked('b', Number.NaN);
  assert.is(w.value, 8);
});

test('property: the watermark never exceeds what any acknowledging, lagging node applied', () => {
  fc.assert(fc.property(fc.array(fc.tuple(fc.constantFrom('add', 'sent', 'acked', 'computed', 'remove'), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 50 }))), (ops) => {
    const w = new ViewWatermark<number>();
    const model = new Map<number, { sent: number; acked: number }>();
    let current = 0;
    for (const [op, node, gen] of ops) {
      if (op === 'add') { w.add(node); if (!model.has(node)) model.set(node, { sent: 0, acked: -1 }); }
      if (op === 'remove') { w.remove(node); model.delete(node); }
      if (op === 'computed') { w.computed(gen); current = Math.max(current, gen); }
      if (op === 'sent') { w.sent(node, gen); const m = model.get(node); if (m) m.sent = Math.max(m.sent, gen); }
      if (op === 'acked') { w.acked(node, gen); const m = model.get(node); if (m) m.acked = Math.max(m.acked, Math.min(gen, m.sent)); }
      assert.ok(w.value <= current);
      for (const m of model.values()) if (m.acked >= 0 && m.acked < m.sent) assert.ok(w.value <= m.acked);
    }
  }), { numRuns: 300 });
});

test.run();
