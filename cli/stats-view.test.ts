import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { StatsReport, TaskUsageRate } from '../src/api/types/stats.ts';
import { binarySize, decimalSize, nodeRows, nodeTable, serviceRows, serviceTable, showStats, taskRows } from './stats-view.ts';

function task(id: string, service: string, node: string, cpu: number): TaskUsageRate {
  return {
    taskId: id, taskName: `${service}.1.${id}`, serviceId: `sid-${service}`, serviceName: service, nodeId: node, containerId: `c${id}`,
    cpuPercent: cpu, cpuLimitPercent: 0, memoryBytes: 10 << 20, memoryLimitBytes: 1 << 30, rxBytes: 1500, txBytes: 500,
    rxBytesPerSec: 100, txBytesPerSec: 50, pids: 2, at: 0,
  };
}

const report: StatsReport = {
  nodes: [
    { nodeId: 'n1', hostname: 'h1', cpus: 2, memoryTotalBytes: 4 * 2 ** 30, memoryUsedBytes: 2 ** 30, cpuPercent: 80, at: 0, tasks: [task('a', 'web', 'n1', 50), task('b', 'db', 'n1', 5)] },
    { nodeId: 'n2', hostname: 'h2', cpus: 2, memoryTotalBytes: 4 * 2 ** 30, memoryUsedBytes: 2 * 2 ** 30, cpuPercent: 30, at: 0, tasks: [task('c', 'web', 'n2', 25)] },
  ],
  unreachable: { n3: 'node is down' },
  services: [{ id: 'sid-db', name: 'db', desired: 1, running: 1 }, { id: 'sid-web', name: 'web', desired: 3, running: 2 }],
};

test('service rows sum each service over every node and keep the store counts', () => {
  const rows = serviceRows(report);
  assert.equal(rows.map((r) => [r.Name, r.Running, r.Desired, r.CPUPerc]), [['db', 1, 1, 5], ['web', 2, 3, 75]]);
  assert.is(rows[1].MemUsage, 20 << 20);
  assert.equal(serviceRows(report, ['web']).map((r) => r.Name), ['web']);
  assert.equal(serviceRows(report, ['sid-d']).map((r) => r.Name), ['db'], 'an ID prefix names a service');
  assert.equal(taskRows(report, ['web']).map((t) => [t.Name, t.Node]), [['web.1.a', 'h1'], ['web.1.c', 'h2']]);
});

test('tables show services, tasks of the named ones, nodes, and who was not measured', () => {
  const all = serviceTable(report, []);
  assert.match(all, /^NAME\s+TASKS\s+CPU %\s+MEM USAGE/);
  assert.match(all, /web\s+2\/3\s+75\.00%\s+20MiB\s+3kB \/ 1kB/);
  assert.not.match(all, /TASK\s+NODE/);
  assert.match(all, /node n3 not measured: node is down/);
  assert.match(serviceTable(report, ['web']), /web\.1\.c\s+h2\s+25\.00%\s+10MiB \/ 1GiB/);
  const nodes = nodeTable(report);
  assert.match(nodes, /h1\s+2\s+80\.00% of 2\s+55\.00%\s+1GiB \/ 4GiB/);
  assert.equal(nodeRows(report).map((n) => n.Tasks), [2, 1]);
});

test('sizes read as docker stats prints them', () => {
  assert.is(binarySize(512), '512B');
  assert.is(binarySize(1536), '1.5KiB');
  assert.is(decimalSize(1234), '1.23kB');
  assert.is(decimalSize(0), '0B');
});

test('a stream redraws in place until aborted; --no-stream prints once', async () => {
  const out: string[] = [];
  await showStats({ fetch: async () => report, render: () => 'x\n', stream: false, write: (s) => out.push(s) });
  assert.equal(out, ['x\n']);
  const ac = new AbortController();
  let n = 0;
  await showStats({ fetch: async () => { if (++n === 3) ac.abort(); return report; }, render: () => 'y\n', stream: true, write: (s) => out.push(s), signal: ac.signal, intervalMs: 1 });
  assert.is(n, 3);
  assert.ok(out.slice(1).every((s) => s === '\x1b[H\x1b[2Jy\n'));
});

test.run();
