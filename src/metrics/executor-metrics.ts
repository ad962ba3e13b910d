/**
 * Executor series of a node: containers per state, start latency, exits and OOM kills.
 * Derived at scrape time from the executor's task records (`createdAt`, `startedAt`,
 * `exit`), each container counted once: the executor itself needs no metrics hooks.
 * A container created and removed between two scrapes is not seen (its exit is still
 * reported to the manager, and shows in `shoal_tasks`).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { TaskController } from '../agent/exec/controller.ts';

/** Start latency buckets, seconds (runc create+start is ≈ 35 ms here; image pulls take longer). */
const START_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

type Container = Pick<TaskController, 'cid' | 'state' | 'record'>;

/** Why a container ended, as a label value: `oom`, `signal` (SIGKILL, …), `error` (non-zero code) or `ok`. */
export function exitReason(exit: { exitCode: number; oomKilled: boolean; signal?: string }): string {
  if (exit.oomKilled) return 'oom';
  if (exit.signal) return 'signal';
  return exit.exitCode === 0 ? 'ok' : 'error';
}

/** The executor series; `observe(containers)` runs once per scrape (the states gauge calls it). */
export class ExecutorMetrics {
  private readonly started = new Set<string>();
  private readonly exited = new Set<string>();
  private readonly startDuration: Histogram;
  private readonly exits: Counter;
  private readonly oomKills: Counter;

  constructor(registry: Registry, containers: () => Container[]) {
    const registers = [registry];
    // Registered first: prom-client reads metrics in registration order, so this collect
    // observes the new starts and exits before the histogram and counters are read.
    const states: Gauge = new Gauge({
      name: 'shoal_executor_containers', help: 'Task containers of this node per state.', labelNames: ['state'], registers,
      collect: () => {
        const list = containers();
        this.observe(list);
        states.reset();
        // Counted first, then one set per state: prom-client hashes the labels of each call.
        const counts = new Map<string, number>();
        for (const c of list) counts.set(c.state, (counts.get(c.state) ?? 0) + 1);
        for (const [state, n] of counts) states.set({ state }, n);
      },
    });
    this.startDuration = new Histogram({ name: 'shoal_executor_start_duration_seconds', help: 'From container creation (prepare) to its process running.', buckets: START_BUCKETS, registers });
    this.exits = new Counter({ name: 'shoal_executor_exits_total', help: 'Task containers that exited, by reason (ok, error, signal, oom).', labelNames: ['reason'], registers });
    this.oomKills = new Counter({ name: 'shoal_executor_oom_kills_total', help: 'Task containers killed by the kernel OOM killer.', registers });
  }

  /** Counts starts and exits not seen before; forgets containers no longer listed. */
  observe(list: Container[]): void {
    const live = new Set<string>();
    for (const c of list) {
      live.add(c.cid);
      const r = c.record;
      if (!r) continue;
      if (r.startedAt && !this.started.has(c.cid)) {
        this.started.add(c.cid);
        const s = (Date.parse(r.startedAt) - Date.parse(r.createdAt)) / 1000;
        if (Number.isFinite(s) && s >= 0) this.startDuration.observe(s);
      }
      if (r.exit && !this.exited.has(c.cid)) {
        this.exited.add(c.cid);
        this.exits.inc({ reason: exitReason(r.exit) });
        if (r.exit.oomKilled) this.oomKills.inc();
      }
    }
    for (const set of [this.started, this.exited]) for (const cid of set) if (!live.has(cid)) set.delete(cid);
  }
}
