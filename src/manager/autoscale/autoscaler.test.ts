import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryStore } from '../../store/index.ts';
import { aService } from '../../store/testing.ts';
import type { TaskUsageRate } from '../../api/types/stats.ts';
import { Autoscaler, sampleOf } from './autoscaler.ts';

function rate(serviceId: string, cpu: number, limit = 50): TaskUsageRate {
  return { taskId: 't', taskName: 'x', serviceId, serviceName: 'web', nodeId: 'n', containerId: 'c', cpuPercent: cpu, cpuLimitPercent: limit, memoryBytes: 0, memoryLimitBytes: 0, rxBytes: 0, txBytes: 0, rxBytesPerSec: 0, txBytesPerSec: 0, pids: 1, at: 0 };
}

const LABELS = { 'com.shoal.autoscale.min': '2', 'com.shoal.autoscale.max': '6', 'com.shoal.autoscale.cpu': '50', 'com.shoal.autoscale.window': '3s', 'com.shoal.autoscale.cooldown': '2s' };

test('the autoscaler scales a labelled service up under load, records why, and leaves others alone', async () => {
  const store = new MemoryStore();
  const { value: svc } = await store.update((tx) => tx.create('service', { ...aService('web', 2), Spec: { ...aService('web', 2).Spec, Labels: LABELS } }));
  const { value: plain } = await store.update((tx) => tx.create('service', aService('plain', 1)));
  let now = 100_000;
  let usage = [rate(svc.ID, 50), rate(svc.ID, 50), rate(plain.ID, 50)];
  const a = new Autoscaler({ store, usage: async () => usage, now: () => now });
  const changes = [];
  for (let i = 0; i < 6; i++) { changes.push(...(await a.tick())); now += 1000; }
  assert.equal(changes.map((c) => [c.name, c.from, c.to]), [['web', 2, 4]], '100 % of a 50 % target: double');
  const s = store.view((tx) => tx.get('service', svc.ID))!;
  assert.is(s.Spec.Mode?.Replicated?.Replicas, 4);
  assert.match(s.ShoalAutoscale!.Reason, /cpu 100% of target 50%: above target for 3s, 2 -> 4 replicas/);
  assert.is(store.view((tx) => tx.get('service', plain.ID))!.Spec.Mode?.Replicated?.Replicas, 1);

  // A manual scale to 5 while idle: kept through window and cooldown, then shrunk to min.
  await store.update((tx) => { const cur = structuredClone(tx.get('service', svc.ID)!); cur.Spec.Mode!.Replicated!.Replicas = 5; tx.update('service', cur); });
  usage = [rate(svc.ID, 0)];
  const after = [];
  for (let i = 0; i < 3; i++) { after.push(...(await a.tick())); now += 1000; }
  assert.is(after.length, 0, 'not undone at once');
  for (let i = 0; i < 10; i++) { after.push(...(await a.tick())); now += 1000; }
  assert.equal(after.map((c) => [c.from, c.to]), [[5, 2]]);
});

test('use is measured against the limit, else the reservation, else one CPU', () => {
  const s = { ...aService('web'), ID: 'sid' } as never;
  assert.is(sampleOf(s, [rate('sid', 25, 50), rate('sid', 50, 50)])!.cpuPercent, 75);
  assert.is(sampleOf(s, [rate('sid', 25, 0)])!.cpuPercent, 25);
  assert.is(sampleOf(s, [rate('other', 25)]), undefined);
});

test('memory is measured against the limit, else the reservation; connections per second are summed over tasks and nodes', () => {
  const withMem = (resources: object) => ({ ...aService('web'), ID: 'sid', Spec: { ...aService('web').Spec, TaskTemplate: { ...aService('web').Spec.TaskTemplate, Resources: resources } } }) as never;
  const t = (mem: number, cps?: number, node = 'n') => ({ ...rate('sid', 10), memoryBytes: mem, nodeId: node, ...(cps !== undefined ? { connectionsPerSec: cps } : {}) });
  const limited = sampleOf(withMem({ Limits: { MemoryBytes: 100 } }), [t(50, 3, 'a'), t(100, 7, 'b')])!;
  assert.is(limited.memoryPercent, 75);
  assert.is(limited.rps, 10);
  assert.is(sampleOf(withMem({}), [t(0, 6, 'a'), t(0, undefined, 'old')])!.rps, 12, 'a task on a node that does not count is taken at the mean');
  assert.is(sampleOf(withMem({ Reservations: { MemoryBytes: 200 } }), [t(50)])!.memoryPercent, 25);
  const bare = sampleOf(withMem({}), [t(50)])!;
  assert.is(bare.memoryPercent, undefined, 'no basis: memory not measured');
  assert.is(bare.rps, undefined, 'no node counted connections');
});

test.run();
