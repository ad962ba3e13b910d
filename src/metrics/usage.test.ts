import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RawSample } from '../agent/engine/stats.ts';
import { UsageTracker, rateOf, summarize, tcpPassiveOpens, usageOf, type TaskIdentity } from './usage.ts';

const NETDEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0
  eth0:    RX       10    0    1    0     0          0         0     TX       20    0    0    0     0       0          0
`;

function sample(cpuNs: number, rx: number, tx: number, atMs: number): RawSample {
  return {
    version: 'v1', procStat: 'cpu  1 0 0 0 0 0 0 0\ncpu0 1 0 0 0\n', netDev: NETDEV.replace('RX', String(rx)).replace('TX', String(tx)),
    hostMemory: 8 * 2 ** 30, read: new Date(atMs),
    files: {
      'cpuacct.usage': String(cpuNs), 'cpuacct.stat': 'user 30\nsystem 10\n', 'memory.usage_in_bytes': '10485760\n',
      'memory.limit_in_bytes': '67108864\n', 'memory.stat': 'total_rss 4096\ntotal_cache 8192\ntotal_inactive_file 2097152\n',
      'memory.failcnt': '2\n', 'pids.current': '3\n',
    },
  };
}

function ident(task: string, service: string, node: string): TaskIdentity {
  return { taskId: task, taskName: `${service}.1.${task}`, serviceId: `s-${service}`, serviceName: service, nodeId: node, containerId: `c-${task}`, cgroup: `/shoal/${task}`, image: 'busybox', cpuLimitNanos: 5e8 };
}

test('a reading carries cAdvisor quantities: cpu seconds, working set, limit, network per interface', () => {
  const u = usageOf(sample(2.5e9, 5000, 7000, 1000), ident('t1', 'web', 'n1'));
  assert.is(u.cpuSeconds, 2.5);
  assert.is(u.cpuUserSeconds, 0.3);
  assert.is(u.memoryUsageBytes, 10 << 20);
  assert.is(u.memoryWorkingSetBytes, 8 << 20);
  assert.is(u.memoryLimitBytes, 64 << 20);
  assert.is(u.memoryRssBytes, 4096);
  assert.is(u.memoryCacheBytes, 8192);
  assert.is(u.memoryFailures, 2);
  assert.is(u.pids, 3);
  assert.equal(Object.keys(u.networks), ['eth0']);
  assert.is(u.networks.eth0.rxBytes, 5000);
  assert.is(u.at, 1000);
});

test('rates come from two readings of the same container and the time between them', () => {
  const a = usageOf(sample(1e9, 1000, 0, 0), ident('t1', 'web', 'n1'));
  const b = usageOf(sample(1.5e9, 3000, 500, 2000), ident('t1', 'web', 'n1'));
  const r = rateOf(b, a);
  assert.is(r.cpuPercent, 25);
  assert.is(r.rxBytesPerSec, 1000);
  assert.is(r.txBytesPerSec, 250);
  assert.is(r.cpuLimitPercent, 50);
  assert.is(rateOf(b, undefined).cpuPercent, 0);
  assert.is(rateOf(b, { ...a, containerId: 'other' }).cpuPercent, 0);
});

test('accepted TCP connections come from net/snmp PassiveOpens and become a per-second rate', () => {
  const snmp = 'Ip: Forwarding DefaultTTL\nIp: 1 64\nTcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails\nTcp: 1 200 120000 -1 7 42 0\nUdp: InDatagrams\nUdp: 3\n';
  assert.is(tcpPassiveOpens(snmp), 42);
  assert.is(tcpPassiveOpens('Ip: Forwarding\nIp: 1\n'), undefined);
  const a = { ...usageOf(sample(1e9, 0, 0, 0), ident('t1', 'web', 'n1')), tcpPassiveOpens: 42 };
  const b = { ...usageOf(sample(1e9, 0, 0, 2000), ident('t1', 'web', 'n1')), tcpPassiveOpens: 142 };
  assert.is(rateOf(b, a).connectionsPerSec, 50);
  assert.is(rateOf(b, undefined).connectionsPerSec, 0, 'a first reading has no rate yet');
  assert.is(rateOf(usageOf(sample(1e9, 0, 0, 0), ident('t1', 'web', 'n1')), undefined).connectionsPerSec, undefined, 'not counted: absent, not 0');
});

test('the tracker forgets containers that left and sums per service and node', () => {
  const tr = new UsageTracker();
  tr.update([usageOf(sample(0, 0, 0, 0), ident('t1', 'web', 'n1')), usageOf(sample(0, 0, 0, 0), ident('t2', 'web', 'n2'))]);
  const rates = tr.update([
    usageOf(sample(1e9, 0, 0, 1000), ident('t1', 'web', 'n1')),
    usageOf(sample(5e8, 0, 0, 1000), ident('t2', 'web', 'n2')),
    usageOf(sample(9e9, 0, 0, 1000), ident('t3', 'db', 'n1')),
  ]);
  assert.equal(rates.map((r) => Math.round(r.cpuPercent)), [100, 50, 0]);
  const services = summarize(rates, 'service');
  assert.equal(services.map((g) => [g.name, g.tasks, Math.round(g.cpuPercent)]), [['db', 1, 0], ['web', 2, 150]]);
  const nodes = summarize(rates, 'node');
  assert.equal(nodes.map((g) => [g.id, g.tasks]), [['n1', 2], ['n2', 1]]);
  const again = tr.update([usageOf(sample(2e9, 0, 0, 2000), ident('t1', 'web', 'n1'))]);
  assert.is(Math.round(again[0].cpuPercent), 100);
});

test.run();
