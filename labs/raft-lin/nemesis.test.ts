import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { prng } from '../../src/common/prng.ts';
import { planFaults } from './nemesis.ts';

test('the same seed plans the same faults, within the duration', () => {
  const a = planFaults(prng(7), 30_000);
  const b = planFaults(prng(7), 30_000);
  assert.equal(a, b);
  const total = a.reduce((s, f) => s + f.holdMs + f.gapMs, 0);
  assert.ok(total <= 30_000, `${total} ms`);
});

test('a run long enough for six faults covers every kind, and one-way cuts name another member', () => {
  for (let seed = 1; seed <= 50; seed++) {
    const faults = planFaults(prng(seed), 6 * 3700);
    assert.ok(faults.length >= 6, `seed ${seed}: ${faults.length} faults`);
    assert.is(new Set(faults.slice(0, 6).map((f) => f.kind)).size, 6, `seed ${seed}`);
    for (const f of faults) {
      assert.ok(f.target >= 0 && f.target < 3 && f.peer !== f.target && f.peer >= 0 && f.peer < 3, `seed ${seed}`);
    }
  }
});

test.run();
