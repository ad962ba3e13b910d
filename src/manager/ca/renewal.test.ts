import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renewalDelay, renewalTime, shouldRenew } from './renewal.ts';

const v = { notBefore: 1_000_000, notAfter: 1_000_000 + 100_000 };

test('renewal falls between 50% and 80% of the validity, placed by rand', () => {
  assert.is(renewalTime(v, 0), 1_050_000);
  assert.is(renewalTime(v, 0.5), 1_065_000);
  assert.ok(renewalTime(v, 0.999999) < 1_080_000);
  assert.ok(renewalTime(v, 0.999999) > 1_079_999);
  assert.throws(() => renewalTime(v, 1), /fraction/);
  assert.throws(() => renewalTime(v, -0.1), /fraction/);
});

test('shouldRenew is false before the renewal time and true from it on', () => {
  assert.not.ok(shouldRenew(v, { now: 1_049_999, rand: 0 }));
  assert.ok(shouldRenew(v, { now: 1_050_000, rand: 0 }));
  assert.not.ok(shouldRenew(v, { now: 1_070_000, rand: 0.9 }));
  assert.ok(shouldRenew(v, { now: 1_078_000, rand: 0.9 }));
});

test('an expired or malformed validity is always due', () => {
  assert.ok(shouldRenew(v, { now: 2_000_000, rand: 0.5 }));
  assert.ok(shouldRenew({ notBefore: 5, notAfter: 5 }, { now: 0, rand: 0.5 }));
});

test('renewalDelay counts down to the renewal time', () => {
  assert.is(renewalDelay(v, { now: 1_000_000, rand: 0 }), 50_000);
  assert.is(renewalDelay(v, { now: 1_060_000, rand: 0 }), 0);
});

test.run();
