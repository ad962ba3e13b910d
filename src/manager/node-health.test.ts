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

test('a new leader marks no unheard node down while sessions still arrive, then does', () => {
  // Leader since 1000; node a reconnected, node b has not (yet); grace 3 s, new-leader grace 9 s.
  const nodes = [{ id: 'a', state: 'ready' as const, addr: '10.1.1.1' }, { id: 'b', state: 'ready' as const, addr: '10.1.1.2' }];
  // a beats on (heard 100 ms before each look); b was last heard before the failover.
  const lastSeen = (now: number) => seen([['a', now - 100, '10.1.1.1:2377'], ['b', 500, '10.1.1.2:2377']]);
  const at = (now: number, lastArrival: number) => nodeStatusChanges({ nodes, lastSeen: lastSeen(now), now, leaderSince: 1000, graceMs: 3000, leaderGraceMs: 9000, lastArrival });
  // Past the new-leader grace, but a node arrived 500 ms ago: b may be waiting its turn.
  assert.equal(at(12_000, 11_500), [], 'the wave still arrives');
  // No arrival for a whole grace period: the wave is over, b is down.
  assert.equal(at(14_500, 11_500).map((c) => [c.id, c.state]), [['b', 'down']]);
  // Arrivals that never stop hold it off three new-leader grace periods at most.
  assert.equal(at(27_999, 27_900), []);
  assert.equal(at(28_000, 27_900).map((c) => [c.id, c.state]), [['b', 'down']]);
});

test('a new leader that heard fewer than half the ready nodes waits for the cap, quiet or not', () => {
  // 40 ready nodes, only 5 heard since the leader took over at 1000; no arrival for long.
  const nodes = Array.from({ length: 40 }, (_, i) => ({ id: `n${i}`, state: 'ready' as const, addr: '10.1.1.1' }));
  const heard = (now: number) => seen(nodes.slice(0, 5).map((n) => [n.id, now - 100, '10.1.1.1:2377'] as [string, number, string]));
  const at = (now: number) => nodeStatusChanges({ nodes, lastSeen: heard(now), now, leaderSince: 1000, graceMs: 3000, leaderGraceMs: 9000, lastArrival: 2000 });
  assert.equal(at(20_000), [], '5 of 40 heard: this leader is more likely slow than 35 nodes dead');
  assert.is(at(28_000).length, 35, 'three new-leader grace periods on: down');
});

test('a node heard in this term and silent since goes down after the grace, arrivals or not', () => {
  const nodes = [{ id: 'a', state: 'ready' as const, addr: '10.1.1.1' }];
  const c = nodeStatusChanges({ nodes, lastSeen: seen([['a', 2000, '10.1.1.1:2377']]), now: 12_000, leaderSince: 1000, graceMs: 3000, leaderGraceMs: 9000, lastArrival: 11_900 });
  assert.equal(c.map((x) => x.state), ['down']);
});

test.run();
