/**
 * Minimal reproductions of core bugs the randomized simulation found, kept as
 * regression tests. Each names the simulation seed that first showed it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MessageType, StateRole } from '../../src/index.ts';
import { Harness } from './harness.ts';

const enc = new TextEncoder();

// Simulation seed 4 (and 2, 8, 10 …): "assertion failed: cannot add into a full inflights".
// A heartbeat response unpauses a follower in replicate state whose inflight window is full
// (its Apps were lost); the leader then sent a non-empty App and overflowed the window.
// etcd sends an empty App in that case, which is acked or rejected and clears the window.
test('a heartbeat response to a leader with a full inflight window sends an empty App, not an overflow', () => {
  const h = new Harness(['a', 'b'], { maxInflightMsgs: 1 });
  h.raw('a').campaign();
  h.deliver();
  assert.is(h.raw('a').status().softState.role, StateRole.Leader);
  assert.is(h.raw('a').status().progress.get('b')!.state, 'replicate');
  h.raw('a').propose(enc.encode('x')); // fills the window of one
  h.flush();
  h.drop((m) => m.type === MessageType.App); // …and that App is lost
  h.raw('a').propose(enc.encode('y')); // held back: the window is full
  h.flush();
  assert.is(h.queue.length, 0);
  h.raw('a').tick(); // heartbeat
  h.flush();
  h.deliver((m) => m.type === MessageType.Heartbeat || m.type === MessageType.HeartbeatResp);
  // The leader answered the heartbeat response with an empty App, not with 'y'.
  const apps = h.queue.filter((m) => m.type === MessageType.App && m.to === 'b');
  assert.ok(apps.length > 0 && apps.every((m) => m.entries.length === 0));
  // Delivering everything now recovers replication.
  for (let i = 0; i < 5; i++) {
    h.raw('a').tick();
    h.deliver();
  }
  assert.is(h.raw('b').status().hardState.commit, h.raw('a').status().hardState.commit);
  assert.ok(h.raw('a').status().hardState.commit >= 3); // no-op, x, y
});

test.run();
