import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nodeStatusChanges, watchHeartbeats } from './node-health.ts';

const seen = (entries: [string, number, string][]) => new Map(entries.map(([id, at, addr]) => [id, { at, addr }]));

test('a node heard from within the grace period becomes ready, with the IP of its heartbeats', () => {
  const c = nodeStatusChanges({ nodes: [{ id: 'n', state: 'unknown', addr: '' }], lastSeen: seen([['n', 900, '10.1.1.1:2377']]), now: 1000, leaderSince: 0, graceMs: 300 });
  assert.equal(c, [{ id: 'n', state: 'ready', addr: '10.1.1.1', message: '' }]);
});

test('a silent ready node goes down after the grace period', () => {
  const c = nodeStatusChanges({ nodes: [{ id: 'n', state: 'ready', addr: '10.1.1.1' }], lastSeen: seen([['n', 600, '10.1.1.1:2377']]), now: 1000, leaderSince: 0, graceMs: 300 });
  assert.equal(c, [{ id: 'n', state: 'down', addr: '10.1.1.1', message: 'heartbeat failure' }]);
});

test('a new leader marks nobody down before a whole grace period has passed', () => {
  const c = nodeStatusChanges({ nodes: [{ id: 'n', state: 'ready', addr: '10.1.1.1' }], lastSeen: new Map(), now: 1000, leaderSince: 900, graceMs: 300 });
  assert.equal(c, []);
});

test('no change is written when nothing changed', () => {
  const c = nodeStatusChanges({ nodes: [{ id: 'n', state: 'ready', addr: '10.1.1.1' }], lastSeen: seen([['n', 950, '10.1.1.1:2377']]), now: 1000, leaderSince: 0, graceMs: 300 });
  assert.equal(c, []);
});

test('a leader whose own loop stalled gives every node a whole grace period again', () => {
  let w = watchHeartbeats({ since: 0, lastTick: 0 }, 1000, 500);
  assert.equal(w, { since: 0, lastTick: 1000 });
  w = watchHeartbeats(w, 1200, 500);
  assert.equal(w, { since: 0, lastTick: 1200 }, 'a tick on time keeps the watch');
  w = watchHeartbeats(w, 8000, 500);
  assert.equal(w, { since: 8000, lastTick: 8000 }, 'a 6.8 s stall starts it again');
  // Judged right after the stall, on heartbeats not read yet: nobody is marked down.
  const nodes = [{ id: 'n', state: 'ready' as const, addr: '10.1.1.1' }];
  const lastSeen = new Map([['n', { at: 1100, addr: '10.1.1.1:2377' }]]);
  assert.equal(nodeStatusChanges({ nodes, lastSeen, now: 8000, leaderSince: 0, watchSince: w.since, graceMs: 3000, leaderGraceMs: 9000 }), []);
  // A whole grace period later (not the new leader's longer one), still silent: down.
  assert.is(nodeStatusChanges({ nodes, lastSeen, now: 11_000, leaderSince: 0, watchSince: w.since, graceMs: 3000, leaderGraceMs: 9000 })[0]?.state, 'down');
});

test('a new leader waits its longer grace before marking anyone down, then judges as usual', () => {
  const nodes = [{ id: 'n', state: 'ready' as const, addr: '10.1.1.1' }];
  const lastSeen = seen([['n', 0, '10.1.1.1:2377']]);
  const at = (now: number) => nodeStatusChanges({ nodes, lastSeen, now, leaderSince: 1000, graceMs: 3000, leaderGraceMs: 9000 });
  assert.equal(at(4000), [], 'one grace period after taking over: still waiting');
  assert.equal(at(9999), []);
  assert.is(at(10_000)[0]?.state, 'down', 'the longer grace over: a silent node is down');
  // A node heard from is made ready at once, grace or not.
  const c = nodeStatusChanges({ nodes: [{ id: 'n', state: 'down', addr: '10.1.1.1' }], lastSeen: seen([['n', 1500, '10.1.1.1:2377']]), now: 2000, leaderSince: 1000, graceMs: 3000, leaderGraceMs: 9000 });
  assert.equal(c.map((x) => x.state), ['ready']);
});

test.run();
