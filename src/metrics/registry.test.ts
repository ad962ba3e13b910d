import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Registry } from 'prom-client';
import { MemoryStore } from '../store/index.ts';
import { aService, aTask, aNode } from '../store/testing.ts';
import { ClusterMetrics, pendingReason } from './cluster-metrics.ts';
import { ExecutorMetrics, exitReason } from './executor-metrics.ts';
import { LabelTexts, renderContainerMetrics } from './containers.ts';
import { NodeMetrics } from './registry.ts';
import { parseLinkStats, registerNetworkMetrics, renderDnsMetrics } from './network-metrics.ts';
import type { TaskUsage } from './usage.ts';

/** The value of the first sample line of `name` whose labels contain every `want` pair. */
function sample(text: string, name: string, want: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    if (Object.entries(want).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

const usage: TaskUsage = {
  taskId: 't1', taskName: 'web.1.t1', serviceId: 's1', serviceName: 'web', nodeId: 'n1', containerId: 'c1', cgroup: '/shoal-h1/c1', image: 'busybox',
  cpuLimitNanos: 5e8, at: 1_000_000, cpuSeconds: 2.5, cpuUserSeconds: 2, cpuSystemSeconds: 0.5,
  memoryUsageBytes: 4096, memoryWorkingSetBytes: 2048, memoryRssBytes: 1024, memoryCacheBytes: 512, memoryLimitBytes: 1 << 20, memoryFailures: 0,
  networks: { eth0: { rxBytes: 10, txBytes: 20, rxPackets: 1, txPackets: 2, rxErrors: 0, txErrors: 0, rxDropped: 0, txDropped: 0 } }, pids: 1,
};

test('container series carry cAdvisor names and swarm labels; gone tasks vanish', () => {
  const text = renderContainerMetrics([usage]);
  assert.is(sample(text, 'container_cpu_usage_seconds_total', { container_label_com_docker_swarm_service_name: 'web', cpu: 'total' }), 2.5);
  assert.is(sample(text, 'container_memory_working_set_bytes', { container_label_com_docker_swarm_task_name: 'web.1.t1', container_label_com_docker_swarm_node_id: 'n1' }), 2048);
  assert.is(sample(text, 'container_network_transmit_bytes_total', { interface: 'eth0', id: '/shoal-h1/c1' }), 20);
  assert.is(sample(text, 'container_spec_cpu_quota'), 50000);
  assert.match(text, /# TYPE container_cpu_usage_seconds_total counter\n/);
  assert.is(sample(renderContainerMetrics([]), 'container_cpu_usage_seconds_total'), undefined);
  const odd = renderContainerMetrics([{ ...usage, serviceName: 'a"b\\c' }]);
  assert.match(odd, /container_label_com_docker_swarm_service_name="a\\"b\\\\c"/);
});

test('label texts kept between scrapes render as made afresh, and follow a changed label', () => {
  const labels = new LabelTexts();
  const other = { ...usage, containerId: 'c2', taskId: 't2', taskName: 'web.2.t2' };
  assert.is(renderContainerMetrics([usage, other], labels), renderContainerMetrics([usage, other]));
  assert.is(renderContainerMetrics([usage, other], labels), renderContainerMetrics([usage, other]), 'second scrape, from the cache');
  const renamed = { ...usage, serviceName: 'web2' };
  assert.is(sample(renderContainerMetrics([renamed], labels), 'container_processes', { container_label_com_docker_swarm_service_name: 'web2' }), 1);
});

test('executor series count each start and exit once and name the exit reason', async () => {
  const reg = new Registry();
  const rec = { createdAt: '2026-01-01T00:00:00.000Z', startedAt: '2026-01-01T00:00:00.040Z' } as Record<string, unknown>;
  const containers = [{ cid: 'c1', state: 'running', record: rec }] as never[];
  new ExecutorMetrics(reg, () => containers);
  let text = await reg.metrics();
  assert.is(sample(text, 'shoal_executor_start_duration_seconds_count'), 1);
  assert.is(sample(text, 'shoal_executor_containers', { state: 'running' }), 1);
  rec.exit = { exitCode: 137, oomKilled: true };
  await reg.metrics();
  text = await reg.metrics();
  assert.is(sample(text, 'shoal_executor_start_duration_seconds_count'), 1);
  assert.is(sample(text, 'shoal_executor_exits_total', { reason: 'oom' }), 1);
  assert.is(sample(text, 'shoal_executor_oom_kills_total'), 1);
  assert.is(exitReason({ exitCode: 0, oomKilled: false }), 'ok');
  assert.is(exitReason({ exitCode: 143, oomKilled: false, signal: 'SIGTERM' }), 'signal');
});

test('cluster series read the store: tables, tasks per state, pending reasons, scheduling latency while leading', async () => {
  const reg = new Registry();
  const store = new MemoryStore();
  const m = new ClusterMetrics(reg);
  m.attach({
    store, nodeId: 'm1', isLeader: true, heartbeatAges: () => new Map([['n1', 100], ['n2', 60_000]]), heartbeatMs: 5000,
    heldSessions: { adopted: 7, redirected: 2, expired: 0 },
  });
  const { value: svc } = await store.update((tx) => tx.create('service', aService('web', 2)));
  await store.update((tx) => tx.create('node', aNode('h1')));
  const { value: tasks } = await store.update((tx) => [tx.create('task', aTask(svc.ID, 1)), tx.create('task', aTask(svc.ID, 2))]);
  await store.update((tx) => {
    const t = structuredClone(tx.get('task', tasks[0].ID)!);
    t.Status = { Timestamp: t.Status.Timestamp, State: 'pending', Message: 'pending', Err: 'no suitable node (insufficient resources on 2 nodes)' };
    tx.update('task', t);
  });
  await store.update((tx) => {
    const t = structuredClone(tx.get('task', tasks[0].ID)!);
    t.Status = { Timestamp: new Date(Date.parse(t.CreatedAt) + 30).toISOString(), State: 'assigned', Message: 'scheduler assigned task to node' };
    tx.update('task', t);
    const u = structuredClone(tx.get('task', tasks[1].ID)!);
    u.Status = { ...u.Status, State: 'pending', Err: 'no suitable node (insufficient resources on 2 nodes)' };
    tx.update('task', u);
  });
  const text = await reg.metrics();
  assert.is(sample(text, 'shoal_store_objects', { table: 'task' }), 2);
  assert.is(sample(text, 'shoal_store_objects', { table: 'service' }), 1);
  assert.is(sample(text, 'shoal_tasks', { state: 'assigned', desired_state: 'running' }), 1);
  assert.is(sample(text, 'shoal_tasks_pending', { reason: 'no suitable node (insufficient resources on N nodes)' }), 1);
  assert.is(sample(text, 'shoal_scheduling_duration_seconds_count'), 1);
  assert.is(sample(text, 'shoal_dispatcher_sessions'), 1);
  assert.is(sample(text, 'shoal_dispatcher_held_sessions_total', { outcome: 'adopted' }), 7);
  assert.is(sample(text, 'shoal_dispatcher_held_sessions_total', { outcome: 'redirected' }), 2);
  assert.is(sample(text, 'shoal_dispatcher_held_sessions_total', { outcome: 'expired' }), 0);
  assert.is(sample(text, 'shoal_nodes', { role: 'worker', state: 'ready' }), 1);
  assert.is(sample(text, 'shoal_service_tasks', { service_name: 'web', kind: 'desired' }), 2);
  assert.is(sample(text, 'shoal_service_tasks', { service_name: 'web', kind: 'running' }), 0);
  assert.is(pendingReason({ Status: { Timestamp: '', State: 'pending', Message: '' } }), 'unknown');
});

test('a node outside any swarm still serves its process and container series', async () => {
  const metrics = new NodeMetrics({ usage: { containers: () => [], tasks: () => [] } });
  const text = await metrics.scrape();
  assert.ok(sample(text, 'shoal_process_cpu_seconds_total') !== undefined);
  assert.is(sample(text, 'shoal_raft_term'), undefined);
  assert.match(text, /# TYPE container_cpu_usage_seconds_total counter/);
  assert.match(metrics.contentType, /text\/plain/);
});

test('vxlan series are read per sandbox at scrape time; a sandbox that cannot be read is left out', async () => {
  const reg = new Registry();
  const json = JSON.stringify([{ ifname: 'vxlan0', stats64: { rx: { bytes: 1000, packets: 10 }, tx: { bytes: 2000, packets: 20 } } }]);
  const reads: string[] = [];
  registerNetworkMetrics(reg, () => [{ networkId: 'net1', netns: 'sb-1', vni: 4097 }, { networkId: 'net2', netns: 'sb-2', vni: 4098, ingress: true }],
    async (ns) => { reads.push(ns); return ns === 'sb-1' ? json : ''; }, async (ns) => (ns === 'sb-2' ? '17\n' : ''));
  const text = await reg.metrics();
  assert.is(sample(text, 'shoal_vxlan_bytes_total', { network_id: 'net1', direction: 'transmit' }), 2000);
  assert.is(sample(text, 'shoal_vxlan_packets_total', { network_id: 'net1', vni: '4097', direction: 'receive' }), 10);
  assert.is(sample(text, 'shoal_vxlan_bytes_total', { network_id: 'net2' }), undefined);
  assert.is(sample(text, 'shoal_network_sandboxes'), 2);
  assert.is(sample(text, 'shoal_mesh_connections', { network_id: 'net2' }), 17);
  assert.is(sample(text, 'shoal_mesh_connections', { network_id: 'net1' }), undefined);
  assert.equal(reads.sort(), ['sb-1', 'sb-2'], 'one read per sandbox per scrape');
  assert.is(parseLinkStats('not json'), undefined);
});

test('dns series: queries by outcome and the forward latency histogram', () => {
  const text = renderDnsMetrics({ queries: { answer: 5, nxdomain: 1, refused: 0, forward: 2, malformed: 0 }, forwarded: { buckets: [0, 1, 1, 2, 2, 2, 2, 2, 2, 2], count: 2, sumMs: 12, servfail: 1 } });
  assert.is(sample(text, 'shoal_dns_queries_total', { result: 'answer' }), 5);
  assert.is(sample(text, 'shoal_dns_forward_duration_seconds_bucket', { le: '0.005' }), 1);
  assert.is(sample(text, 'shoal_dns_forward_duration_seconds_bucket', { le: '+Inf' }), 2);
  assert.is(sample(text, 'shoal_dns_forward_duration_seconds_sum'), 0.012);
  assert.is(sample(text, 'shoal_dns_forward_failures_total'), 1);
  assert.is(renderDnsMetrics(undefined), '');
});

test.run();
