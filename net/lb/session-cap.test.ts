// SessionCap: the least recently used sessions beyond the cap are stopped, once each.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SessionCap } from './session-cap.ts';

function fake(name: string, log: string[]) {
  return { name, stop: async () => { log.push(name); } };
}

test('beyond the cap the least recently used is stopped; a use makes a session the most recent', () => {
  const log: string[] = [];
  const cap = new SessionCap(2);
  const [a, b, c] = ['a', 'b', 'c'].map((n) => fake(n, log));
  cap.used(a);
  cap.used(b);
  cap.used(a); // a is now the most recent
  assert.equal(log, []);
  cap.used(c);
  assert.equal(log, ['b'], 'b was the least recently used');
  assert.is(cap.size, 2);
  cap.used(b); // b runs again: a is the oldest now
  assert.equal(log, ['b', 'a']);
  cap.used(b);
  assert.equal(log, ['b', 'a'], 'a use of a counted session stops nothing');
});

test('a forgotten session is not counted and never stopped by the cap', () => {
  const log: string[] = [];
  const cap = new SessionCap(1);
  const [a, b] = ['a', 'b'].map((n) => fake(n, log));
  cap.used(a);
  cap.forget(a);
  cap.used(b);
  assert.equal(log, []);
  assert.is(cap.size, 1);
});

test('a stop that fails does not throw out of used()', async () => {
  const cap = new SessionCap(1);
  cap.used({ stop: () => Promise.reject(new Error('gone')) });
  cap.used({ stop: async () => {} });
  await new Promise((r) => setImmediate(r));
  assert.is(cap.size, 1);
});

test('the cap is a whole number of at least 1', () => {
  for (const bad of [0, -1, 1.5, NaN]) assert.throws(() => new SessionCap(bad), /at least 1/);
});

test.run();
