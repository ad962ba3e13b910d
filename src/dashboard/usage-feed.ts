/**
 * Resource figures for the dashboard's sparklines: while anyone watches, the cluster's
 * usage report (`GET /shoal/stats`, every node's running tasks) is read every
 * `intervalMs` and boiled down to one point per service and per node. A report that
 * cannot be had (no manager, a node down) skips a point; the page draws what it gets.
 */
import type { Clock } from '../agent/exec/health.ts';
import type { StatsReport } from '../api/types/stats.ts';

/** One sample: a service's CPU in percent of one CPU (as `docker stats`), a node's in percent of the node; memory in bytes (working set; host memory in use). */
export interface UsagePoint {
  at: number;
  services: Record<string, { cpuPct: number; memBytes: number }>;
  nodes: Record<string, { cpuPct: number; memBytes: number }>;
}

/** Sums a report per service (its tasks on every node) and per node (the host's own figures, CPU over its cores). Pure. */
export function usagePoint(report: StatsReport, at: number): UsagePoint {
  const services: UsagePoint['services'] = {};
  const nodes: UsagePoint['nodes'] = {};
  for (const n of report.nodes) {
    // A node's CPU in percent of the whole node (100 = every core busy), unlike a service's.
    nodes[n.nodeId] = { cpuPct: n.cpus ? n.cpuPercent / n.cpus : n.cpuPercent, memBytes: n.memoryUsedBytes };
    for (const t of n.tasks) {
      const s = (services[t.serviceId] ??= { cpuPct: 0, memBytes: 0 });
      s.cpuPct += t.cpuPercent;
      s.memBytes += t.memoryBytes;
    }
  }
  for (const s of report.services) services[s.id] ??= { cpuPct: 0, memBytes: 0 };
  return { at, services, nodes };
}

export interface UsageFeedOptions {
  /** Reads the cluster's usage report (the daemon asks its own `/shoal/stats`). */
  read: () => Promise<StatsReport>;
  clock: Clock;
  /** Between two samples, ms. Default 2000. */
  intervalMs?: number;
}

/** Samples only while it has listeners; one sample at a time. */
export class UsageFeed {
  private readonly listeners = new Set<(p: UsagePoint) => void>();
  private cancel?: () => void;
  private readonly intervalMs: number;

  constructor(private readonly opts: UsageFeedOptions) {
    this.intervalMs = opts.intervalMs ?? 2000;
  }

  /** Calls `fn` with each new point; returns the function that stops it. */
  listen(fn: (p: UsagePoint) => void): () => void {
    this.listeners.add(fn);
    if (this.listeners.size === 1) this.schedule(0);
    return () => {
      this.listeners.delete(fn);
      if (this.listeners.size === 0) this.close();
    };
  }

  close(): void {
    this.listeners.clear();
    this.cancel?.();
    this.cancel = undefined;
  }

  private schedule(ms: number): void {
    this.cancel = this.opts.clock.setTimer(ms, () => void this.sample());
  }

  private async sample(): Promise<void> {
    let point: UsagePoint | undefined;
    try {
      point = usagePoint(await this.opts.read(), this.opts.clock.now());
    } catch {
      point = undefined; // no report this time: the sparkline skips a point
    }
    if (!this.listeners.size) return;
    if (point) for (const l of [...this.listeners]) l(point);
    this.schedule(this.intervalMs);
  }
}
