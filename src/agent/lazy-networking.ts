/**
 * The node's network data plane, opened on first need. A node that never runs a task on
 * an overlay network and never serves the routing mesh never touches the kernel's
 * networking (no bridge, no nftables table, no helper process): the `NetworkAgent` opens
 * when a task with networks or host-mode ports is attached, when a view names networks,
 * or at start when a previous daemon left state to re-adopt.
 */
import { existsSync } from 'node:fs';
import type { Task } from '../api/types/task.ts';
import type { NodeNetworkView } from '../wire/network-view-types.ts';
import type { Logger } from '../common/logger.ts';
import type { AgentNetworking } from './agent.ts';
import { hostModePorts } from './network/plan.ts';
import type { OutOfRotation } from './network/rotation.ts';
import type { WireGuardStatus } from './network/wireguard-plane.ts';
import type { DnsStats } from '../../net/dns/index.ts';

/** What is lazily opened (`NetworkAgent` has this shape). */
export interface OpenableNetworking extends AgentNetworking {
  endpoints(networkId: string): { taskId: string; name: string; ip: string; mac: string }[];
  /** DNS query counts (metrics). */
  dnsStats?(): DnsStats | undefined;
  /** This node's WireGuard tunnel (encrypted overlays). */
  wireguardStatus?(): WireGuardStatus | undefined;
}

/** Whether a task needs the data plane: it is on a network or publishes host-mode ports. */
export function needsNetworking(task: Task): boolean {
  return !!task.NetworksAttachments?.length || hostModePorts(task).length > 0;
}

export class LazyNetworking implements AgentNetworking {
  private opening?: Promise<OpenableNetworking>;
  private agent?: OpenableNetworking;
  private latest?: NodeNetworkView;
  private readonly appliedListeners = new Set<(generation: number) => void>();
  private lastWatermark?: number;

  /**
   * `open` makes the data plane; `stateFile` is where it keeps its state (when it exists,
   * a previous daemon left something to re-adopt, so it opens at once).
   */
  constructor(
    private readonly open: () => Promise<OpenableNetworking>,
    stateFile: string,
    private readonly logger: Logger,
  ) {
    if (existsSync(stateFile)) void this.get().catch(() => {});
  }

  setView(view: NodeNetworkView): void {
    this.latest = view;
    if (this.agent) {
      this.agent.setView(view);
      return;
    }
    if (!this.opening && view.networks.length === 0 && !view.ingress) {
      // Nothing to apply and nothing here routes anywhere: applied as it stands.
      if (view.generation !== undefined) for (const fn of this.appliedListeners) fn(view.generation);
      return;
    }
    void this.get().catch(() => {});
  }

  watermark(generation: number): void {
    this.lastWatermark = generation;
    this.agent?.watermark?.(generation);
  }

  onViewApplied(fn: (generation: number) => void): void {
    this.appliedListeners.add(fn);
    this.agent?.onViewApplied?.(fn);
  }

  async attach(task: Task): Promise<{ netnsPath: string; resolvConf: string } | undefined> {
    if (!needsNetworking(task)) return undefined;
    return (await this.get()).attach(task);
  }

  /** Where the task's netns will be (the data plane opens for it); undefined without networks or host-mode ports. */
  async plan(task: Task): Promise<{ netnsPath: string; resolvConf: string } | undefined> {
    if (!needsNetworking(task)) return undefined;
    const agent = await this.get();
    return agent.plan ? agent.plan(task) : undefined;
  }

  async detach(taskId: string): Promise<void> {
    if (!this.opening) return;
    await (await this.get()).detach(taskId);
  }

  /** Out of every rotation at once when the data plane never opened (the task has no networks, so no node routes to it). */
  async outOfRotation(task: Task, timeoutMs: number): Promise<OutOfRotation> {
    if (!this.opening) return 'cluster';
    const agent = await this.opening.catch(() => undefined);
    return agent?.outOfRotation ? agent.outOfRotation(task, timeoutMs) : 'cluster';
  }

  async close(): Promise<void> {
    if (!this.opening) return;
    await (await this.opening.catch(() => undefined))?.close();
  }

  async removeAll(): Promise<void> {
    if (!this.opening) return;
    await (await this.get()).removeAll();
  }

  /** This node's DNS query counts (undefined before the data plane opened). */
  dnsStats(): DnsStats | undefined {
    return this.agent?.dnsStats?.();
  }

  /** This node's WireGuard tunnel (undefined before the data plane opened). */
  wireguardStatus(): WireGuardStatus | undefined {
    return this.agent?.wireguardStatus?.();
  }

  /** This node's endpoints on a network (none before the data plane opened). */
  endpoints(networkId: string): { taskId: string; name: string; ip: string; mac: string }[] {
    return this.agent?.endpoints(networkId) ?? [];
  }

  private get(): Promise<OpenableNetworking> {
    this.opening ??= this.open().then((agent) => {
      this.agent = agent;
      for (const fn of this.appliedListeners) agent.onViewApplied?.(fn);
      if (this.lastWatermark !== undefined) agent.watermark?.(this.lastWatermark);
      if (this.latest) agent.setView(this.latest);
      return agent;
    }, (err: unknown) => {
      this.opening = undefined;
      this.logger.error('network: could not open the data plane', { error: err });
      throw err;
    });
    return this.opening;
  }
}
