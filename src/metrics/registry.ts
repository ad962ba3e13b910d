/**
 * A node's metrics: one prom-client `Registry` (never the library's global one, so two
 * daemons in one process, as in tests, keep theirs apart) with the Raft, store and
 * scheduler series of a manager, the executor series of every node and the process's
 * own CPU and memory; then cAdvisor-named per-task usage, rendered as text beside it. Everything is read lazily when
 * scraped; between scrapes the only work is counting Raft and store events.
 *
 *   const metrics = new NodeMetrics({ usage, manager: () => swarm?.manager });
 *   res.end(await metrics.scrape());
 */
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { RaftNode } from 'raft-ts';
import { LabelTexts, renderContainerMetrics } from './containers.ts';
import { ExecutorMetrics } from './executor-metrics.ts';
import { RaftMetrics } from './raft-metrics.ts';
import { ClusterMetrics, type ClusterSource } from './cluster-metrics.ts';
import { registerNetworkMetrics, renderDnsMetrics, type SandboxRef } from './network-metrics.ts';
import type { DnsStats } from '../../net/dns/index.ts';
import { UsageReader, usageTargets, type UsageSource } from './usage-reader.ts';

/** What a node's metrics read; every part may be absent (outside a swarm, a worker, no tasks yet). */
export interface NodeMetricsOptions {
  /** The node's task containers and the agent's tasks. */
  usage: UsageSource;
  /** The node's manager when it is one (its store, Raft node and heartbeats). */
  manager?: () => (ClusterSource & { raft: RaftNode }) | undefined;
  /** This node's overlay sandboxes (VXLAN series); absent: none. */
  sandboxes?: () => SandboxRef[];
  /** The embedded DNS's counts; absent or undefined: no DNS series. */
  dns?: () => DnsStats | undefined;
  /** Include the Node.js process series (`process_cpu_seconds_total`, heap, …). Default true. */
  processMetrics?: boolean;
}

/** The Prometheus registry of one node. */
export class NodeMetrics {
  readonly registry = new Registry();
  private readonly raft: RaftMetrics;
  private readonly cluster: ClusterMetrics;
  // No connection counts: no series shows them, and they are a third of a reading's reads.
  private readonly reader = new UsageReader({ connections: false });
  private readonly labels = new LabelTexts();

  constructor(private readonly opts: NodeMetricsOptions) {
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'shoal_' });
    this.raft = new RaftMetrics(this.registry);
    this.cluster = new ClusterMetrics(this.registry);
    new ExecutorMetrics(this.registry, () => opts.usage.containers());
    if (opts.sandboxes) registerNetworkMetrics(this.registry, opts.sandboxes);
  }

  /** Follows the node's current manager (hooks for event-only series); call after a role change, or on a timer. */
  follow(): void {
    const m = this.opts.manager?.();
    this.raft.attach(m?.raft);
    this.cluster.attach(m);
  }

  /** The Prometheus text exposition of everything, read now. */
  async scrape(): Promise<string> {
    this.follow();
    // The per-task series (cAdvisor's) are rendered straight to text: see containers.ts.
    const containers = renderContainerMetrics(this.reader.read(usageTargets(this.opts.usage)), this.labels);
    return (await this.registry.metrics()) + renderDnsMetrics(this.opts.dns?.()) + containers;
  }

  /** The exposition's content type (text format 0.0.4). */
  get contentType(): string {
    return this.registry.contentType;
  }
}
