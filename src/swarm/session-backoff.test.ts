import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { baseDelay, handshakeTimeout, maxDelay, reconnectDelay } from './session-backoff.ts';

test('a redirect to the leader is followed within one base delay, spread by the random draw', () => {
  assert.is(reconnectDelay({ failures: 3, heartbeatMs: 1000, redirected: true, rand: 0 }), 0);
  assert.is(reconnectDelay({ failures: 3, heartbeatMs: 1000, redirected: true, rand: 0.5 }), 250);
  assert.is(reconnectDelay({ failures: 3, heartbeatMs: 1000, redirected: true, rand: 0.999 }), 499);
});

test('the first retry waits between half and one base delay', () => {
  assert.is(reconnectDelay({ failures: 1, heartbeatMs: 1000, redirected: false, rand: 0 }), 250);
  assert.is(reconnectDelay({ failures: 1, heartbeatMs: 1000, redirected: false, rand: 0.999 }), 499);
  assert.is(reconnectDelay({ failures: 0, heartbeatMs: 1000, redirected: false, rand: 0 }), 250);
});

test('a refused connection is retried within one base delay, whatever the failures before', () => {
  assert.is(reconnectDelay({ failures: 3, heartbeatMs: 1000, redirected: false, refused: true, rand: 0 }), 0);
  assert.is(reconnectDelay({ failures: 3, heartbeatMs: 1000, redirected: false, refused: true, rand: 0.999 }), 499);
});

test('a lost session a leader had answered is followed within one base delay, spread from zero', () => {
  assert.is(reconnectDelay({ failures: 0, heartbeatMs: 1000, redirected: false, answered: true, rand: 0 }), 0);
  assert.is(reconnectDelay({ failures: 0, heartbeatMs: 1000, redirected: false, answered: true, rand: 0.999 }), 499);
  // Unanswered, the same draw waits at least half a base delay.
  assert.is(reconnectDelay({ failures: 0, heartbeatMs: 1000, redirected: false, answered: false, rand: 0 }), 250);
});

test('each failed attempt doubles the delay up to the cap', () => {
  const at = (failures: number) => reconnectDelay({ failures, heartbeatMs: 1000, redirected: false, rand: 0 });
  assert.equal([1, 2, 3, 4, 5, 6, 100].map(at), [250, 500, 1000, 2000, 2500, 2500, 2500]);
  assert.is(maxDelay(1000), 5000);
});

test('a short heartbeat period shortens every step; the cap never falls under the base', () => {
  assert.is(baseDelay(100), 100);
  assert.is(maxDelay(100), 500);
  assert.is(reconnectDelay({ failures: 1, heartbeatMs: 100, redirected: false, rand: 0 }), 50);
  assert.is(baseDelay(0), 1);
  assert.is(maxDelay(0), 1);
});

test('delays stay within [step/2, step) for every draw', () => {
  for (let f = 0; f < 20; f++) {
    for (const rand of [0, 0.1, 0.5, 0.9, 0.9999]) {
      const d = reconnectDelay({ failures: f, heartbeatMs: 1000, redirected: false, rand });
      assert.ok(d >= 250 && d < 5000, `failures ${f} rand ${rand}: ${d}`);
    }
  }
});

test('a handshake may take at least 5 s, or three heartbeat periods', () => {
  assert.is(handshakeTimeout(1000), 5000);
  assert.is(handshakeTimeout(5000), 15000);
});

test.run();
