/**
 * Current resource usage per task, service and node: the one source of the numbers the
 * metrics endpoint (cAdvisor-named series), `shoal service stats` / `node stats` and the
 * web dashboard show. Pure: a reading is made from a {@link RawSample} (the cgroup and
 * `/proc` text that `agent/engine/cgroup-sample.ts` reads) plus the task's identity;
 * rates come from two readings and the time each carries, so nothing here looks at a
 * clock. The reader that does the I/O is `UsageReader` in `./usage-reader.ts`.
 *
 *   const now = reader.read(targets);                // I/O: cgroups and /proc
 *   const rates = tracker.update(now);               // pure: CPU %, bytes/s since last
 *   summarize(rates, 'service');                     // pure: per service totals
 */
import { cpuStats, keyValues, memoryStats, memoryUsage, netStats, type RawSample } from '../agent/engine/stats.ts';
import type { TaskUsageRate, TaskUsageRef, UsageGroup } from '../api/types/stats.ts';

/** Who a reading belongs to (labels of the series, columns of the tables), and what the metrics need of its spec. */
export interface TaskIdentity extends TaskUsageRef {
  /** The task's cgroup path (cAdvisor's `id` label). */
  cgroup: string;
  image: string;
  /** The task's CPU limit in nano-CPUs; 0 when none. */
  cpuLimitNanos: number;
}

/** One task container's counters at one moment. Counters are cumulative since the container started. */
export interface TaskUsage extends TaskIdentity {
  /** When it was read, ms since the epoch. */
  at: number;
  /** CPU time, seconds (user + system). */
  cpuSeconds: number;
  cpuUserSeconds: number;
  cpuSystemSeconds: number;
  /** Memory charged to the cgroup, page cache included, bytes. */
  memoryUsageBytes: number;
  /** Usage minus inactive page cache (what the OOM killer and `docker stats` look at), bytes. */
  memoryWorkingSetBytes: number;
  memoryRssBytes: number;
  memoryCacheBytes: number;
  /** The cgroup's memory limit, bytes; the host's memory when the task has none. */
  memoryLimitBytes: number;
  /** Times the cgroup hit its memory limit (v1 failcnt; v2 memory.events max). */
  memoryFailures: number;
  /** Network counters per interface (loopback left out). */
  networks: Record<string, { rxBytes: number; txBytes: number; rxPackets: number; txPackets: number; rxErrors: number; txErrors: number; rxDropped: number; txDropped: number }>;
  pids: number;
  /**
   * TCP connections accepted in the task's network namespace since it was made
   * (`/proc/PID/net/snmp` `Tcp: PassiveOpens`, counted when a handshake completes);
   * absent when unknown or when the task shares the host's namespace.
   */
  tcpPassiveOpens?: number;
}

const NS = 1e9;

/** `Tcp: PassiveOpens` of a `/proc/PID/net/snmp` text; undefined when absent. Pure. */
export function tcpPassiveOpens(snmp: string): number | undefined {
  const [head, values] = snmp.split('\n').filter((l) => l.startsWith('Tcp:')).map((l) => l.trim().split(/\s+/));
  const i = head?.indexOf('PassiveOpens') ?? -1;
  const n = i > 0 && values ? Number(values[i]) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** A reading from one raw sample. Pure. */
export function usageOf(sample: RawSample, id: TaskIdentity): TaskUsage {
  const cpu = cpuStats(sample) as { cpu_usage: { total_usage: number; usage_in_kernelmode: number; usage_in_usermode: number } };
  const mem = memoryStats(sample) as { usage: number; limit: number; failcnt?: number; stats: Record<string, number> };
  const st = mem.stats;
  const networks: TaskUsage['networks'] = {};
  for (const [name, n] of Object.entries(netStats(sample.netDev))) {
    networks[name] = {
      rxBytes: n.rx_bytes, txBytes: n.tx_bytes, rxPackets: n.rx_packets, txPackets: n.tx_packets,
      rxErrors: n.rx_errors, txErrors: n.tx_errors, rxDropped: n.rx_dropped, txDropped: n.tx_dropped,
    };
  }
  const events = keyValues(sample.files['memory.events']);
  return {
    ...id,
    at: sample.read.getTime(),
    cpuSeconds: cpu.cpu_usage.total_usage / NS,
    cpuUserSeconds: cpu.cpu_usage.usage_in_usermode / NS,
    cpuSystemSeconds: cpu.cpu_usage.usage_in_kernelmode / NS,
    memoryUsageBytes: mem.usage,
    memoryWorkingSetBytes: memoryUsage(mem),
    memoryRssBytes: st.total_rss ?? st.rss ?? st.anon ?? 0,
    memoryCacheBytes: st.total_cache ?? st.cache ?? st.file ?? 0,
    memoryLimitBytes: mem.limit,
    memoryFailures: mem.failcnt ?? events.max ?? 0,
    networks,
    pids: Number((sample.files['pids.current'] ?? '').trim()) || 0,
  };
}

/** Sum of a reading's network counters over its interfaces. */
export function networkTotals(u: Pick<TaskUsage, 'networks'>): { rxBytes: number; txBytes: number } {
  let rxBytes = 0;
  let txBytes = 0;
  for (const n of Object.values(u.networks)) { rxBytes += n.rxBytes; txBytes += n.txBytes; }
  return { rxBytes, txBytes };
}

/**
 * Rates between two readings of the same container: CPU % where 100 is one full CPU (as
 * `docker stats`), bytes per second. Without a previous reading (or with one from another
 * container, or out of order) the rates are 0. Pure.
 */
export function rateOf(cur: TaskUsage, prev: TaskUsage | undefined): TaskUsageRate {
  const net = networkTotals(cur);
  const dt = prev && prev.containerId === cur.containerId ? (cur.at - prev.at) / 1000 : 0;
  const pnet = prev ? networkTotals(prev) : net;
  const per = (d: number): number => (dt > 0 && d > 0 ? d / dt : 0);
  return {
    taskId: cur.taskId, taskName: cur.taskName, serviceId: cur.serviceId, serviceName: cur.serviceName, nodeId: cur.nodeId,
    containerId: cur.containerId,
    cpuPercent: per(cur.cpuSeconds - (prev?.cpuSeconds ?? 0)) * 100,
    cpuLimitPercent: cur.cpuLimitNanos > 0 ? (cur.cpuLimitNanos / NS) * 100 : 0,
    memoryBytes: cur.memoryWorkingSetBytes,
    memoryLimitBytes: cur.memoryLimitBytes,
    rxBytes: net.rxBytes,
    txBytes: net.txBytes,
    rxBytesPerSec: per(net.rxBytes - pnet.rxBytes),
    txBytesPerSec: per(net.txBytes - pnet.txBytes),
    pids: cur.pids,
    // A task's netns lives as long as the task: its count never goes back while the container lives.
    ...(cur.tcpPassiveOpens !== undefined ? { connectionsPerSec: per(cur.tcpPassiveOpens - (prev?.tcpPassiveOpens ?? cur.tcpPassiveOpens)) } : {}),
    at: cur.at,
  };
}

/**
 * Keeps each container's last reading so each `update` turns fresh readings into rates.
 * Containers not in the latest update are forgotten. Holds no clock: time is in the readings.
 */
export class UsageTracker {
  private last = new Map<string, TaskUsage>();

  /** Rates since the previous update (0 for containers seen for the first time). */
  update(readings: TaskUsage[]): TaskUsageRate[] {
    const next = new Map<string, TaskUsage>();
    const out = readings.map((u) => {
      next.set(u.containerId, u);
      return rateOf(u, this.last.get(u.containerId));
    });
    this.last = next;
    return out;
  }
}

/** Totals of task rates per service or per node (sorted by name), with the number of tasks in each. Pure. */
export function summarize(rates: TaskUsageRate[], by: 'service' | 'node'): UsageGroup[] {
  const groups = new Map<string, UsageGroup>();
  for (const r of rates) {
    const key = by === 'service' ? r.serviceId : r.nodeId;
    const name = by === 'service' ? r.serviceName : r.nodeId;
    const g = groups.get(key) ?? { id: key, name, tasks: 0, cpuPercent: 0, memoryBytes: 0, rxBytesPerSec: 0, txBytesPerSec: 0, rxBytes: 0, txBytes: 0 };
    g.tasks += 1;
    g.cpuPercent += r.cpuPercent;
    g.memoryBytes += r.memoryBytes;
    g.rxBytesPerSec += r.rxBytesPerSec;
    g.txBytesPerSec += r.txBytesPerSec;
    g.rxBytes += r.rxBytes;
    g.txBytes += r.txBytes;
    groups.set(key, g);
  }
  return [...groups.values()].sort((a, b) => a.name.localeCompare(b.name));
}
