import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryStore } from '../store/index.ts';
import { aNode, aService, aTask } from '../store/testing.ts';
import type { NodeUsage } from '../api/types/stats.ts';
import { gatherStats } from './cluster-stats.ts';
import { NodeUsageReader } from './node-usage.ts';

function doc(nodeId: string): NodeUsage {
  return { nodeId, hostname: '?', cpus: 2, memoryTotalBytes: 1, memoryUsedBytes: 1, cpuPercent: 1, tasks: [], at: 0 };
}

test('stats ask ready nodes (self locally), list down and silent ones as unreachable, and count tasks per service', async () => {
  const store = new MemoryStore();
  const { value: nodes } = await store.update((tx) => [tx.create('node', aNode('h1')), tx.create('node', aNode('h2')), tx.create('node', aNode('h3')), tx.create('node', aNode('h4'))]);
  await store.update((tx) => {
    const down = structuredClone(tx.get('node', nodes[3].ID)!);
    down.Status = { ...down.Status, State: 'down' };
    tx.update('node', down);
  });
  const { value: svc } = await store.update((tx) => tx.create('service', aService('web', 2)));
  await store.update((tx) => {
    tx.create('task', aTask(svc.ID, 1));
    const t = tx.create('task', aTask(svc.ID, 2));
    tx.update('task', { ...structuredClone(t), Status: { ...t.Status, State: 'running' } });
  });
  const asked: string[] = [];
  const report = await gatherStats({
    store, selfId: nodes[0].ID, timeoutMs: 50,
    local: async () => doc('self'),
    remote: async (n) => {
      asked.push(n.Description.Hostname);
      if (n.Description.Hostname === 'h3') return new Promise<NodeUsage>(() => {});
      return doc(n.ID);
    },
  });
  assert.equal(report.nodes.map((n) => n.hostname), ['h1', 'h2']);
  assert.is(report.nodes[0].nodeId, nodes[0].ID, 'the store names the node');
  assert.equal(asked.sort(), ['h2', 'h3']);
  assert.equal(report.unreachable, { [nodes[2].ID]: 'no answer in time', [nodes[3].ID]: 'node is down' });
  assert.equal(report.services, [{ id: svc.ID, name: 'web', desired: 2, running: 1 }]);
});

test('a first reading waits one window for rates; a follow-up within maxAge does not', async () => {
  let now = 1000;
  const sleeps: number[] = [];
  const reader = new NodeUsageReader({
    source: { containers: () => [], tasks: () => [] }, nodeId: () => 'n1', hostname: 'h1', windowMs: 300,
    now: () => now, sleep: async (ms) => { sleeps.push(ms); now += ms; },
  });
  const first = await reader.read();
  assert.equal(sleeps, [300]);
  assert.is(first.nodeId, 'n1');
  assert.ok(first.cpus >= 1 && first.memoryTotalBytes > 0);
  now += 1000;
  await reader.read();
  assert.equal(sleeps, [300], 'no second wait');
  now += 60_000;
  await reader.read();
  assert.equal(sleeps, [300, 300], 'a stale reading is not used for rates');
});

test.run();
