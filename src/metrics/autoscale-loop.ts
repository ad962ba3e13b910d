/**
 * Runs the autoscaler (`src/manager/autoscale`) on this node while it is the Raft
 * leader: a tick a second, fed by the cluster-wide usage of `/shoal/stats`. A new manager
 * (promotion, a new swarm) gets a fresh autoscaler; a follower's loop does nothing.
 */
import type { Manager } from '../manager/manager.ts';
import type { TaskUsageRate } from '../api/types/stats.ts';
import { Autoscaler } from '../manager/autoscale/autoscaler.ts';

export interface AutoscaleLoopOptions {
  /** This node's manager, if it is one. */
  manager: () => Manager | undefined;
  /** Every running task's usage in the cluster. */
  usage: () => Promise<TaskUsageRate[]>;
  logger?: { info(msg: string, fields?: Record<string, unknown>): void; warn(msg: string, fields?: Record<string, unknown>): void };
  /** Between ticks, ms. Default 1000. */
  intervalMs?: number;
}

/** Starts the loop; returns the function that stops it. */
export function startAutoscaleLoop(opts: AutoscaleLoopOptions): () => void {
  let current: { manager: Manager; autoscaler: Autoscaler } | undefined;
  let busy = false;
  const timer = setInterval(() => {
    const m = opts.manager();
    if (!m || !m.isLeader || busy) return;
    if (current?.manager !== m) current = { manager: m, autoscaler: new Autoscaler({ store: m.store, usage: opts.usage, logger: opts.logger }) };
    busy = true;
    current.autoscaler.tick()
      .catch((err) => opts.logger?.warn('autoscale: tick failed', { error: String(err) }))
      .finally(() => { busy = false; });
  }, opts.intervalMs ?? 1000);
  timer.unref();
  return () => clearInterval(timer);
}
