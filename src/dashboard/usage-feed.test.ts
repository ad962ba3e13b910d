// Usage points for the sparklines: per service over every node's tasks, per node from the
// host's figures; sampling only while someone listens.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { StatsReport, TaskUsageRate } from '../api/types/stats.ts';
import { UsageFeed, usagePoint } from './usage-feed.ts';

const task = (serviceId: string, nodeId: string, cpuPercent: number, memoryBytes: number) => ({ serviceId, nodeId, cpuPercent, memoryBytes }) as TaskUsageRate;
const report: StatsReport = {
  nodes: [
    { nodeId: 'n1', hostname: 'h1', cpus: 2, memoryTotalBytes: 100, memoryUsedBytes: 40, cpuPercent: 30, tasks: [task('s1', 'n1', 10, 5), task('s2', 'n1', 1, 1)], at: 0 },
    { nodeId: 'n2', hostname: 'h2', cpus: 2, memoryTotalBytes: 100, memoryUsedBytes: 20, cpuPercent: 12, tasks: [task('s1', 'n2', 5, 7)], at: 0 },
  ],
  unreachable: {},
  services: [{ id: 's1', name: 'web', desired: 2, running: 2 }, { id: 's3', name: 'idle', desired: 0, running: 0 }],
};

test('a point sums tasks per service and takes hosts per node', () => {
  const p = usagePoint(report, 7);
  assert.equal(p.services, { s1: { cpuPct: 15, memBytes: 12 }, s2: { cpuPct: 1, memBytes: 1 }, s3: { cpuPct: 0, memBytes: 0 } });
  assert.equal(p.nodes, { n1: { cpuPct: 15, memBytes: 40 }, n2: { cpuPct: 6, memBytes: 20 } }, 'node CPU over its 2 cores');
  assert.is(p.at, 7);
});

test('samples only while listened to, and skips a failed read', async () => {
  const timers: (() => void)[] = [];
  const clock = { now: () => 1, setTimer: (_ms: number, fn: () => void) => { timers.push(fn); return () => { timers.splice(timers.indexOf(fn), 1); }; } };
  let reads = 0;
  const feed = new UsageFeed({ clock, read: async () => { reads++; if (reads === 2) throw new Error('down'); return report; } });
  assert.is(timers.length, 0);
  const got: number[] = [];
  const stop = feed.listen((p) => got.push(p.at));
  for (let i = 0; i < 3; i++) {
    timers.shift()!();
    await new Promise((r) => setImmediate(r));
  }
  assert.is(reads, 3);
  assert.is(got.length, 2, 'the failed read gave no point');
  stop();
  assert.is(timers.length, 0, 'no timer left once nobody listens');
});

test.run();
