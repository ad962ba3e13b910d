import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LineFramer, MAX_LINE, parseEntries, selectEntries, shouldRotate, type LogEntry } from './log-framer.ts';

test('framer returns complete lines and keeps the partial one', () => {
  const f = new LineFramer();
  assert.equal(f.push('a\nb'), ['a\n']);
  assert.equal(f.push('c\n\nd'), ['bc\n', '\n']);
  assert.equal(f.flush(), ['d']);
  assert.equal(f.flush(), []);
});

test('framer splits lines longer than MAX_LINE', () => {
  const f = new LineFramer();
  const out = f.push('x'.repeat(MAX_LINE + 5) + '\n');
  assert.is(out.length, 2);
  assert.is(out[0].length, MAX_LINE);
  assert.is(out[1], 'xxxxx\n');
  assert.equal(f.push('y'.repeat(MAX_LINE)), ['y'.repeat(MAX_LINE)]);
});

const e = (sec: number, log: string): LogEntry => ({ time: new Date(sec * 1000).toISOString(), stream: 'stdout', log });

test('selectEntries applies since then tail', () => {
  const all = [e(1, 'a'), e(2, 'b'), e(3, 'c'), e(4, 'd')];
  assert.equal(selectEntries(all, { tail: 2 }).map((x) => x.log), ['c', 'd']);
  assert.equal(selectEntries(all, { since: 2000 }).map((x) => x.log), ['b', 'c', 'd']);
  assert.equal(selectEntries(all, { since: 2000, tail: 1 }).map((x) => x.log), ['d']);
  assert.equal(selectEntries(all, { tail: 0 }), []);
  assert.equal(selectEntries(all, { until: 2000 }).map((x) => x.log), ['a', 'b']);
});

test('parseEntries skips a torn last line', () => {
  const text = JSON.stringify(e(1, 'a')) + '\n' + '{"time":"x';
  assert.is(parseEntries(text).length, 1);
});

test('rotation happens only when a non-empty file would pass the limit', () => {
  assert.not.ok(shouldRotate(0, 100, 10));
  assert.ok(shouldRotate(5, 6, 10));
  assert.not.ok(shouldRotate(5, 5, 10));
});

test.run();
