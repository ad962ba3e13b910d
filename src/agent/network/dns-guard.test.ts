import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { busyFraction, nextPriority, DNS_GUARD_LIMITS } from './dns-guard.ts';

test('a busy loop at high priority is lowered; a quiet one stays', () => {
  assert.is(nextPriority('high', 0.9), 'low');
  assert.is(nextPriority('high', 0.3), 'high');
});

test('a lowered loop is raised only once quiet below the lower limit (hysteresis)', () => {
  assert.is(nextPriority('low', 0.3), 'low', 'between the limits: stays');
  assert.is(nextPriority('low', 0.05), 'high');
});

test('custom limits are used, and crossed ones refused', () => {
  assert.is(nextPriority('high', 0.3, { demoteAbove: 0.25, promoteBelow: 0.1 }), 'low');
  assert.throws(() => nextPriority('low', 0, { demoteAbove: 0.1, promoteBelow: 0.2 }), /promoteBelow < demoteAbove/);
  assert.ok(DNS_GUARD_LIMITS.promoteBelow < DNS_GUARD_LIMITS.demoteAbove);
});

test('busy fraction is CPU time over wall time between two readings', () => {
  assert.is(busyFraction({ cpuNs: 0, atNs: 0 }, { cpuNs: 250e6, atNs: 1e9 }), 0.25);
  assert.is(busyFraction({ cpuNs: 5, atNs: 7 }, { cpuNs: 5, atNs: 7 }), 0, 'no time passed');
  assert.is(busyFraction({ cpuNs: 9, atNs: 0 }, { cpuNs: 1, atNs: 10 }), 0, 'a new thread (CPU time went back) counts as idle');
});

test.run();
