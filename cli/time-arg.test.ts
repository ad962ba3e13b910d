import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { apiTime, parseTimeArg } from './time-arg.ts';

const NOW = Date.parse('2026-01-02T03:04:05.000Z');

test('durations count back from now', () => {
  assert.is(parseTimeArg('since', '10m', NOW), NOW - 600_000);
  assert.is(parseTimeArg('since', '1h30m', NOW), NOW - 5_400_000);
  assert.is(parseTimeArg('since', '1.5s', NOW), NOW - 1500);
});

test('dates and epoch seconds are absolute', () => {
  assert.is(parseTimeArg('since', '2026-01-02T03:04:05Z', NOW), NOW);
  assert.is(parseTimeArg('since', '2026-01-02', NOW), Date.parse('2026-01-02T00:00:00Z'));
  assert.is(parseTimeArg('until', '1700000000.25', NOW), 1_700_000_000_250);
});

test('anything else is refused naming the flag', () => {
  assert.throws(() => parseTimeArg('since', 'yesterday', NOW), /invalid value for --since/);
});

test('api time is SECONDS.NANOS', () => {
  assert.is(apiTime(1_700_000_000_250), '1700000000.250000000');
  assert.is(apiTime(1_700_000_000_000), '1700000000.000000000');
});

test.run();
