import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseLogQuery } from './logs.ts';

const q = (s: string) => parseLogQuery(new URLSearchParams(s));

test('a log query needs at least one stream, as docker says', () => {
  assert.throws(() => q('follow=1'), /you must choose at least one stream/);
  assert.equal(q('stdout=1'), { follow: false, stdout: true, stderr: false, timestamps: false, details: false });
});

test('flags, since/until in docker\'s seconds.nanos, tail as a count or all', () => {
  const r = q('stdout=1&stderr=true&follow=1&timestamps=1&details=1&since=1700000000.5&until=1700000100&tail=10');
  assert.equal(r, { follow: true, stdout: true, stderr: true, timestamps: true, details: true, since: 1_700_000_000_500, until: 1_700_000_100_000, tail: 10 });
  assert.is(q('stdout=1&tail=all').tail, undefined);
  assert.is(q('stdout=1&tail=-1').tail, undefined, 'a negative tail means all');
  assert.is(q('stdout=1&since=0').since, undefined, 'since=0 means from the start');
  assert.is(q('stdout=0&stderr=1').stdout, false);
  assert.throws(() => q('stdout=1&tail=ten'), /invalid tail value "ten"/);
  assert.throws(() => q('stdout=1&since=yesterday'), /invalid since value/);
});

test.run();
