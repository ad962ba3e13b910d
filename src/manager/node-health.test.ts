import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nodeStatusChanges } from './node-health.ts';

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

test.run();
