/**
 * Per-task resource series with cAdvisor's names and labels, so dashboards written for
 * cAdvisor on Docker Swarm (`container_cpu_usage_seconds_total` by
 * `container_label_com_docker_swarm_service_name`, …) work unchanged. Read lazily: one
 * reading of every running task per scrape, rendered straight to text.
 */
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

/** Escapes a label value for the text format (backslash, double quote, newline). */
function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

type Family = { name: string; help: string; type: 'counter' | 'gauge'; extra?: string; value: (u: TaskUsage) => number };
type NetFamily = { name: string; help: string; value: (n: TaskUsage['networks'][string]) => number };

const FAMILIES: Family[] = [
  { name: 'container_cpu_usage_seconds_total', type: 'counter', help: 'Cumulative cpu time consumed in seconds.', extra: 'cpu="total"', value: (u) => u.cpuSeconds },
  { name: 'container_cpu_user_seconds_total', type: 'counter', help: 'Cumulative user cpu time consumed in seconds.', value: (u) => u.cpuUserSeconds },
  { name: 'container_cpu_system_seconds_total', type: 'counter', help: 'Cumulative system cpu time consumed in seconds.', value: (u) => u.cpuSystemSeconds },
  { name: 'container_memory_usage_bytes', type: 'gauge', help: 'Current memory usage in bytes, including all memory regardless of when it was accessed.', value: (u) => u.memoryUsageBytes },
  { name: 'container_memory_working_set_bytes', type: 'gauge', help: 'Current working set in bytes.', value: (u) => u.memoryWorkingSetBytes },
  { name: 'container_memory_rss', type: 'gauge', help: 'Size of RSS in bytes.', value: (u) => u.memoryRssBytes },
  { name: 'container_memory_cache', type: 'gauge', help: 'Number of bytes of page cache memory.', value: (u) => u.memoryCacheBytes },
  { name: 'container_memory_failcnt', type: 'counter', help: 'Number of memory usage hits limits.', value: (u) => u.memoryFailures },
  { name: 'container_spec_memory_limit_bytes', type: 'gauge', help: 'Memory limit for the container.', value: (u) => u.memoryLimitBytes },
  { name: 'container_spec_cpu_period', type: 'gauge', help: 'CPU period of the container.', value: () => CFS_PERIOD_US },
  { name: 'container_spec_cpu_quota', type: 'gauge', help: 'CPU quota of the container (0 when none).', value: (u) => Math.round((u.cpuLimitNanos / 1e9) * CFS_PERIOD_US) },
  { name: 'container_processes', type: 'gauge', help: 'Number of processes running inside the container.', value: (u) => u.pids },
  { name: 'container_last_seen', type: 'gauge', help: 'Last time a container was seen by the exporter.', value: (u) => u.at / 1000 },
];

const NET_FAMILIES: NetFamily[] = [
  { name: 'container_network_receive_bytes_total', help: 'Cumulative count of bytes received.', value: (n) => n.rxBytes },
  { name: 'container_network_transmit_bytes_total', help: 'Cumulative count of bytes transmitted.', value: (n) => n.txBytes },
  { name: 'container_network_receive_packets_total', help: 'Cumulative count of packets received.', value: (n) => n.rxPackets },
  { name: 'container_network_transmit_packets_total', help: 'Cumulative count of packets transmitted.', value: (n) => n.txPackets },
  { name: 'container_network_receive_errors_total', help: 'Cumulative count of errors encountered while receiving.', value: (n) => n.rxErrors },
  { name: 'container_network_transmit_errors_total', help: 'Cumulative count of errors encountered while transmitting.', value: (n) => n.txErrors },
  { name: 'container_network_receive_packets_dropped_total', help: 'Cumulative count of packets dropped while receiving.', value: (n) => n.rxDropped },
  { name: 'container_network_transmit_packets_dropped_total', help: 'Cumulative count of packets dropped while transmitting.', value: (n) => n.txDropped },
];

/** The label text (`id="…",name="…",…`) of a reading's series. */
function labelTextOf(u: TaskUsage): string {
  return Object.entries(containerLabels(u)).map(([k, v]) => `${k}="${esc(v)}"`).join(',');
}

/**
 * The label texts of the containers of the last scrape, kept for the next: a task's labels
 * do not change while it runs. `texts(readings)` forgets the containers not read again.
 */
export class LabelTexts {
  private byKey = new Map<string, string>();

  texts(readings: TaskUsage[]): string[] {
    const next = new Map<string, string>();
    const out = readings.map((u) => {
      // Every label value in the key: a cached text is right by construction.
      const key = [u.containerId, u.cgroup, u.taskName, u.image, u.serviceId, u.serviceName, u.taskId, u.nodeId].join('\0');
      const text = this.byKey.get(key) ?? next.get(key) ?? labelTextOf(u);
      next.set(key, text);
      return text;
    });
    this.byKey = next;
    return out;
  }
}

/**
 * The container series of `readings` in Prometheus text format (version 0.0.4). Written
 * directly rather than through prom-client metric objects: 50 tasks make ~1000 series
 * whose label sets change with every task, and building them as strings once per scrape
 * costs a fraction of setting them one by one on a metric. `labels` keeps label texts
 * between scrapes; without it they are made afresh. Pure but for that cache.
 */
export function renderContainerMetrics(readings: TaskUsage[], labels?: LabelTexts): string {
  const labelText = labels ? labels.texts(readings) : readings.map(labelTextOf);
  const out: string[] = [];
  for (const f of FAMILIES) {
    out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
    readings.forEach((u, i) => out.push(`${f.name}{${labelText[i]}${f.extra ? ',' + f.extra : ''}} ${f.value(u)}`));
  }
  for (const f of NET_FAMILIES) {
    out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} counter`);
    readings.forEach((u, i) => {
      for (const [iface, n] of Object.entries(u.networks)) out.push(`${f.name}{${labelText[i]},interface="${esc(iface)}"} ${f.value(n)}`);
    });
  }
  return out.join('\n') + '\n';
}
