/**
 * This node's usage document (`NodeUsage`): its running tasks with rates, and the host's
 * CPU and memory. Rates need two readings: a caller that asks again within
 * `maxAgeMs` gets rates since its previous reading (a live table refreshing every
 * second); a first or late caller gets two readings `windowMs` apart, so even a one-shot
 * `--no-stream` shows real CPU figures.
 */
import type { NodeUsage } from '../api/types/stats.ts';
import { UsageTracker } from './usage.ts';
import { readHost, UsageReader, usageTargets, type UsageSource } from './usage-reader.ts';

export interface NodeUsageOptions {
  source: UsageSource;
  nodeId: () => string;
  hostname: string;
  /** A previous reading older than this is too old for rates, ms. Default 10 000. */
  maxAgeMs?: number;
  /** The gap between two readings taken for one answer, ms. Default 500. */
  windowMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** Answers "what does this node use now", keeping the previous reading for rates. */
export class NodeUsageReader {
  private readonly tracker = new UsageTracker();
  /** Kept across reads: it remembers each container's cgroup directories. */
  private readonly reader = new UsageReader();
  private lastHost?: ReturnType<typeof readHost>;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** One reading at a time: concurrent callers share it. */
  private inFlight?: Promise<NodeUsage>;

  constructor(private readonly opts: NodeUsageOptions) {
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** The node's usage now, with rates over the last interval (see the module comment). */
  read(): Promise<NodeUsage> {
    this.inFlight ??= this.readOnce().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async readOnce(): Promise<NodeUsage> {
    const maxAge = this.opts.maxAgeMs ?? 10_000;
    if (!this.lastHost || this.now() - this.lastHost.at > maxAge) {
      this.take();
      await this.sleep(this.opts.windowMs ?? 500);
    }
    const prevHost = this.lastHost!;
    const { host, tasks } = this.take();
    const dt = (host.at - prevHost.at) / 1000;
    const cpuPercent = dt > 0 ? Math.max(0, ((host.cpuSeconds - prevHost.cpuSeconds) / dt) * 100) : 0;
    return {
      nodeId: this.opts.nodeId(), hostname: this.opts.hostname, cpus: host.cpus, memoryTotalBytes: host.memoryTotalBytes,
      memoryUsedBytes: host.memoryUsedBytes, cpuPercent, tasks, at: host.at,
    };
  }

  private take(): { host: ReturnType<typeof readHost>; tasks: NodeUsage['tasks'] } {
    const now = this.now;
    const tasks = this.tracker.update(this.reader.read(usageTargets(this.opts.source), () => new Date(now())));
    const host = readHost(now);
    this.lastHost = host;
    return { host, tasks };
  }
}
