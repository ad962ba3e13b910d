/**
 * The leader's autoscaler: every tick it measures the services that carry
 * `com.shoal.autoscale.*` labels (one cluster-wide usage read, only when such a service
 * exists), runs `decide` for each, and writes a change as a store update of the service's
 * replicas plus `ShoalAutoscale` (replicas, reason, time), which the event stream shows
 * as a service update with `autoscale.reason`. The replicated orchestrator does the rest.
 * State is in memory: a new leader starts each service afresh from its current replicas.
 *
 *   const a = new Autoscaler({ store, usage: async () => tasksOf(await stats()) });
 *   setInterval(() => { if (manager.isLeader) void a.tick(); }, 1000);
 */
import type { MemoryStore } from '../../store/index.ts';
import type { Service } from '../../api/types/service.ts';
import type { TaskUsageRate } from '../../api/types/stats.ts';
import { autoscalePolicyOf, memoryBasisBytes, type AutoscalePolicy } from '../../api/spec/autoscale-policy.ts';
import { decide, initialState, type AutoscaleState, type UsageSample } from './decide.ts';

export interface AutoscalerOptions {
  store: MemoryStore;
  /** Running tasks' usage, cluster-wide (the managers' `/shoal/stats` fan-out). */
  usage: () => Promise<TaskUsageRate[]>;
  /** Wall clock, ms. Default Date.now. */
  now?: () => number;
  logger?: { info(msg: string, fields?: Record<string, unknown>): void; warn(msg: string, fields?: Record<string, unknown>): void };
}

/** A change the autoscaler made. */
export interface AutoscaleChange { serviceId: string; name: string; from: number; to: number; reason: string }

/** Percent of one CPU a task's usage is measured against: its limit, else its reservation, else one CPU. */
export function cpuBasisPercent(s: Service, t: TaskUsageRate): number {
  if (t.cpuLimitPercent > 0) return t.cpuLimitPercent;
  const reserved = s.Spec.TaskTemplate.Resources?.Reservations?.NanoCPUs ?? 0;
  return reserved > 0 ? reserved / 1e7 : 100;
}

/**
 * A service's measurement from its running tasks' usage: mean CPU and memory use, each
 * percent of the task's basis (memory: the service's limit, else reservation; left out
 * with neither), and the new TCP connections per second its tasks accepted, summed over
 * every node (left out when no task's node reports them; a task whose node does not is
 * taken at the mean of those counted). Undefined with no task. Pure.
 */
export function sampleOf(s: Service, tasks: TaskUsageRate[]): UsageSample | undefined {
  const mine = tasks.filter((t) => t.serviceId === s.ID);
  if (!mine.length) return undefined;
  const cpu = mine.reduce((a, t) => a + (t.cpuPercent / cpuBasisPercent(s, t)) * 100, 0);
  const memBasis = memoryBasisBytes(s.Spec.TaskTemplate.Resources);
  const mem = mine.reduce((a, t) => a + (t.memoryBytes / memBasis) * 100, 0);
  const counted = mine.filter((t) => t.connectionsPerSec !== undefined);
  const rps = (counted.reduce((a, t) => a + t.connectionsPerSec!, 0) * mine.length) / Math.max(1, counted.length);
  return {
    cpuPercent: cpu / mine.length,
    ...(memBasis > 0 ? { memoryPercent: mem / mine.length } : {}),
    ...(counted.length ? { rps } : {}),
    tasks: mine.length,
  };
}

/** Scales services within their bounds; `tick` is called by the leader, never concurrently. */
export class Autoscaler {
  private readonly states = new Map<string, AutoscaleState>();
  private readonly now: () => number;
  private running = false;

  constructor(private readonly opts: AutoscalerOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** One round over the autoscaled services; resolves with the changes written. */
  async tick(): Promise<AutoscaleChange[]> {
    if (this.running) return [];
    this.running = true;
    try {
      return await this.round();
    } finally {
      this.running = false;
    }
  }

  private async round(): Promise<AutoscaleChange[]> {
    const scaled: { s: Service; p: AutoscalePolicy }[] = [];
    for (const s of this.opts.store.view((tx) => tx.list('service'))) {
      let p: AutoscalePolicy | undefined;
      try { p = autoscalePolicyOf(s.Spec.Labels); } catch { p = undefined; /* refused at the API; an old spec: skip */ }
      if (p && s.Spec.Mode?.Replicated) scaled.push({ s, p });
    }
    for (const id of this.states.keys()) if (!scaled.some((x) => x.s.ID === id)) this.states.delete(id);
    if (!scaled.length) return [];
    const usage = await this.opts.usage();
    const now = this.now();
    const changes: AutoscaleChange[] = [];
    for (const { s, p } of scaled) {
      const current = s.Spec.Mode!.Replicated!.Replicas ?? 1;
      const state = this.states.get(s.ID) ?? initialState(current, now);
      const r = decide(p, state, current, sampleOf(s, usage), now);
      this.states.set(s.ID, r.state);
      if (!r.decision) continue;
      const ok = await this.write(s.ID, current, r.decision.replicas, r.decision.reason, now);
      if (ok) {
        changes.push({ serviceId: s.ID, name: s.Spec.Name, from: current, to: r.decision.replicas, reason: r.decision.reason });
        this.opts.logger?.info('autoscaled service', { 'service.id': s.ID, 'service.name': s.Spec.Name, from: current, to: r.decision.replicas, reason: r.decision.reason });
      }
    }
    return changes;
  }

  /** Sets the replicas if they are still `from` (a concurrent manual scale wins); false if not written. */
  private async write(id: string, from: number, to: number, reason: string, now: number): Promise<boolean> {
    try {
      const { value } = await this.opts.store.update((tx) => {
        const cur = tx.get('service', id);
        if (!cur || cur.Spec.Mode?.Replicated?.Replicas !== from) return false;
        const next = structuredClone(cur) as Service;
        next.Spec.Mode!.Replicated!.Replicas = to;
        next.ShoalAutoscale = { Replicas: to, Reason: reason, At: new Date(now).toISOString() };
        tx.update('service', next);
        return true;
      });
      if (!value) this.states.delete(id);
      return value;
    } catch (err) {
      this.opts.logger?.warn('autoscale: could not scale service', { 'service.id': id, error: String(err) });
      this.states.delete(id);
      return false;
    }
  }
}
