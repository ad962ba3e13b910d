/**
 * Per-task resource series with cAdvisor's names and labels, so dashboards written for
 * cAdvisor on Docker Swarm (`container_cpu_usage_seconds_total` by
 * `container_label_com_docker_swarm_service_name`, …) work unchanged. Read lazily: one
 * reading of every running task per scrape, shared by all the series of that scrape.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { TaskUsage } from './usage.ts';

/** cAdvisor's labels of a Docker container, with the swarm labels Shoal's tasks carry. */
export const CONTAINER_LABELS = [
  'id', 'name', 'image',
  'container_label_com_docker_swarm_service_id', 'container_label_com_docker_swarm_service_name',
  'container_label_com_docker_swarm_task_id', 'container_label_com_docker_swarm_task_name',
  'container_label_com_docker_swarm_node_id',
] as const;

type Labels = Record<(typeof CONTAINER_LABELS)[number], string>;

/** The label values of one task's series. */
export function containerLabels(u: TaskUsage): Labels {
  return {
    id: u.cgroup || `/shoal/${u.containerId}`,
    name: u.taskName,
    image: u.image,
    container_label_com_docker_swarm_service_id: u.serviceId,
    container_label_com_docker_swarm_service_name: u.serviceName,
    container_label_com_docker_swarm_task_id: u.taskId,
    container_label_com_docker_swarm_task_name: u.taskName,
    container_label_com_docker_swarm_node_id: u.nodeId,
  };
}

/** cAdvisor's CFS period (µs): `container_spec_cpu_quota` is expressed per this period. */
const CFS_PERIOD_US = 100_000;

/**
 * Registers the container series on `registry`; `current()` gives this scrape's readings
 * (the caller memoises it so all series see one reading).
 */
export function registerContainerMetrics(registry: Registry, current: () => TaskUsage[]): void {
  const labelNames = [...CONTAINER_LABELS];
  const netLabels = [...CONTAINER_LABELS, 'interface'];

  // A series family filled from each reading at collect time (reset first: gone tasks vanish).
  function perTask(kind: 'counter' | 'gauge', name: string, help: string, value: (u: TaskUsage) => number, extra: Record<string, string> = {}): void {
    const names = [...labelNames, ...Object.keys(extra)];
    const metric = kind === 'counter'
      ? new Counter({ name, help, labelNames: names, registers: [registry], collect: () => fill() })
      : new Gauge({ name, help, labelNames: names, registers: [registry], collect: () => fill() });
    function fill(): void {
      metric.reset();
      for (const u of current()) {
        const v = value(u);
        if (metric instanceof Counter) metric.inc({ ...containerLabels(u), ...extra }, Math.max(0, v));
        else metric.set({ ...containerLabels(u), ...extra }, v);
      }
    }
  }

  function perInterface(name: string, help: string, value: (n: TaskUsage['networks'][string]) => number): void {
    const metric: Counter = new Counter({
      name, help, labelNames: netLabels, registers: [registry],
      collect: () => {
        metric.reset();
        for (const u of current()) {
          for (const [iface, n] of Object.entries(u.networks)) metric.inc({ ...containerLabels(u), interface: iface }, Math.max(0, value(n)));
        }
      },
    });
  }

  perTask('counter', 'container_cpu_usage_seconds_total', 'Cumulative cpu time consumed in seconds.', (u) => u.cpuSeconds, { cpu: 'total' });
  perTask('counter', 'container_cpu_user_seconds_total', 'Cumulative user cpu time consumed in seconds.', (u) => u.cpuUserSeconds);
  perTask('counter', 'container_cpu_system_seconds_total', 'Cumulative system cpu time consumed in seconds.', (u) => u.cpuSystemSeconds);
  perTask('gauge', 'container_memory_usage_bytes', 'Current memory usage in bytes, including all memory regardless of when it was accessed.', (u) => u.memoryUsageBytes);
  perTask('gauge', 'container_memory_working_set_bytes', 'Current working set in bytes.', (u) => u.memoryWorkingSetBytes);
  perTask('gauge', 'container_memory_rss', 'Size of RSS in bytes.', (u) => u.memoryRssBytes);
  perTask('gauge', 'container_memory_cache', 'Number of bytes of page cache memory.', (u) => u.memoryCacheBytes);
  perTask('counter', 'container_memory_failcnt', 'Number of memory usage hits limits.', (u) => u.memoryFailures);
  perTask('gauge', 'container_spec_memory_limit_bytes', 'Memory limit for the container.', (u) => u.memoryLimitBytes);
  perTask('gauge', 'container_spec_cpu_period', 'CPU period of the container.', () => CFS_PERIOD_US);
  perTask('gauge', 'container_spec_cpu_quota', 'CPU quota of the container (0 when none).', (u) => Math.round((u.cpuLimitNanos / 1e9) * CFS_PERIOD_US));
  perTask('gauge', 'container_processes', 'Number of processes running inside the container.', (u) => u.pids);
  perTask('gauge', 'container_last_seen', 'Last time a container was seen by the exporter.', (u) => u.at / 1000);
  perInterface('container_network_receive_bytes_total', 'Cumulative count of bytes received.', (n) => n.rxBytes);
  perInterface('container_network_transmit_bytes_total', 'Cumulative count of bytes transmitted.', (n) => n.txBytes);
  perInterface('container_network_receive_packets_total', 'Cumulative count of packets received.', (n) => n.rxPackets);
  perInterface('container_network_transmit_packets_total', 'Cumulative count of packets transmitted.', (n) => n.txPackets);
  perInterface('container_network_receive_errors_total', 'Cumulative count of errors encountered while receiving.', (n) => n.rxErrors);
  perInterface('container_network_transmit_errors_total', 'Cumulative count of errors encountered while transmitting.', (n) => n.txErrors);
  perInterface('container_network_receive_packets_dropped_total', 'Cumulative count of packets dropped while receiving.', (n) => n.rxDropped);
  perInterface('container_network_transmit_packets_dropped_total', 'Cumulative count of packets dropped while transmitting.', (n) => n.txDropped);
}
