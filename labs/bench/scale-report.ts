/**
 * The scale bench's JSON line (issue 19 item 3, issue 20 item 1): the rounds of every N
 * summarised as medians with min and max beside them (`fair.ts`), each round's record
 * kept, failed rounds counted and listed, every setting recorded, and the targets read
 * from the medians only. Pure: no I/O, no clock; `scale.ts` measures the rounds.
 */
import { type Flag, type Summary, figureFields, summary } from './fair.ts';

/** What one round of one N measured. Durations in ms; null when the step failed or was skipped (see `errors`). */
export interface ScaleRun {
  nodes: number;
  /** Which round of this N, from 1 (absent in records made before rounds existed). */
  round?: number;
  tasks: number;
  lost: number;
  /** The managers' Raft tick, ms, when the bench set one (null: the daemon's default, 10). */
  raft_tick_ms: number | null;
  join_ms: number | null;
  leader_cpu_pct: number | null;
  leader_rss_mb: number | null;
  leader_cpu_pct_with_tasks: number | null;
  heartbeat_lag_ms: number | null;
  heartbeat_lag_p50_ms: number | null;
  schedule10k_ms: number | null;
  mass_loss_detect_ms: number | null;
  mass_loss_ms: number | null;
  /**
   * CPU the three managers spent (ms, summed) while the 10,000 tasks were scheduled and
   * started, and while the lost nodes' tasks were rescheduled: the work itself, which a
   * shared machine's load does not inflate the way it inflates the durations.
   */
  schedule10k_cpu_ms: number | null;
  mass_loss_cpu_ms: number | null;
  failover_ms: number | null;
  failover_first_ms: number | null;
  /** The median session's move to the new leader (ms after the kill): the wave's middle, between first and all. */
  failover_p50_ms?: number | null;
  /**
   * CPU from the kill until the poll saw every session moved (ms, summed): the two
   * surviving managers' (the election, the handshakes, the sessions' first frames) and the
   * simulated nodes' (their side of the same handshakes, on the same cores here, where a
   * real cluster's nodes use their own).
   */
  failover_cpu_ms?: number | null;
  failover_sims_cpu_ms?: number | null;
  /** Sessions the surviving managers held during the election, by how each ended (their `/metrics`). */
  failover_held?: Record<string, number>;
  /** Replies of the simulated nodes that came after their question had timed out, dropped (`SimProc.stale`). */
  stale_replies?: number;
  /** The 1-minute load average when the round started and ended (shared machine). */
  load: [number, number];
  /** What went wrong in this round; a round with any error counts as failed. */
  errors: string[];
}

/** Every figure of a round that is summarised over the rounds of its N. */
export const FIGURES = [
  'join_ms', 'leader_cpu_pct', 'leader_rss_mb', 'leader_cpu_pct_with_tasks', 'heartbeat_lag_ms', 'heartbeat_lag_p50_ms',
  'schedule10k_ms', 'schedule10k_cpu_ms', 'mass_loss_detect_ms', 'mass_loss_ms', 'mass_loss_cpu_ms', 'failover_ms', 'failover_first_ms', 'failover_p50_ms',
  'failover_cpu_ms', 'failover_sims_cpu_ms',
] as const;
export type Figure = (typeof FIGURES)[number];

/** The settings one invocation ran with, recorded in the JSON so a figure can be re-run as taken. */
export interface ScaleSettings {
  nodes: number[];
  /** Rounds asked for per N. */
  rounds: number;
  tasks: number;
  lost: number;
  rest_s: number;
  per_proc: number;
  raft_tick_ms: number | null;
  step_timeout_s: number;
  profile_dir: string | null;
  profile_failover: boolean;
  keep_logs: string | null;
  /** What the manager daemons' environment sets for the bench (SHOAL_DATA_PLANE, SHOAL_RAFT_TICK_MS). */
  daemon_env: Record<string, string>;
  node_version: string;
}

/**
 * One figure over the rounds: the values of the rounds that measured it; a round that
 * did not and has errors is a failed value (its errors beside its number), one that did
 * not without an error skipped the step on purpose (no lost nodes, a profiled leader)
 * and is neither.
 */
export function figureOver(rounds: readonly ScaleRun[], key: Figure): Summary {
  const values: number[] = [];
  const failed: string[] = [];
  rounds.forEach((r, i) => {
    const v = r[key];
    if (typeof v === 'number') values.push(v);
    else if (r.errors.length) failed.push(`round ${r.round ?? i + 1}: ${r.errors.join('; ')}`);
  });
  return summary(values, failed);
}

/** One N over its rounds: every figure's median/min/max/runs, the failed rounds, the load range, and each round's record. */
export function summariseN(rounds: readonly ScaleRun[]): Record<string, unknown> {
  const first = rounds[0];
  const failed = rounds.filter((r) => r.errors.length);
  const load = summary(rounds.flatMap((r) => r.load));
  const out: Record<string, unknown> = {
    nodes: first.nodes, tasks: first.tasks, lost: first.lost, raft_tick_ms: first.raft_tick_ms,
    rounds: rounds.length,
    rounds_failed: failed.length,
    errors: failed.map((r) => `round ${r.round ?? rounds.indexOf(r) + 1}: ${r.errors.join('; ')}`),
    // Every load reading of the rounds (start and end of each), as a range.
    load: [load.min, load.max],
  };
  for (const k of FIGURES) Object.assign(out, figureFields(k, figureOver(rounds, k)));
  out.per_round = rounds;
  return out;
}

/** 'met' when `value < bound`, 'not met' otherwise, 'not measured' without a value. */
function under(value: unknown, bound: number): Flag {
  return typeof value !== 'number' ? 'not measured' : value < bound ? 'met' : 'not met';
}

/**
 * The JSON line: the largest N's summarised figures at the top level (`nodes`,
 * `leader_cpu_pct`, … each a median with `_min`, `_max`, `_runs` and `_failed` when a
 * round failed), every N's summary under `runs` (its rounds under `per_round`), and the
 * targets of issue 19 read from the medians only. `runs` is every round of every N, in
 * any order; they are grouped by `nodes`.
 */
export function scaleReport(runs: readonly ScaleRun[], settings?: ScaleSettings): Record<string, unknown> {
  const byN = new Map<number, ScaleRun[]>();
  for (const r of runs) byN.set(r.nodes, [...(byN.get(r.nodes) ?? []), r]);
  const ns = [...byN.keys()].sort((a, b) => a - b);
  const perN = ns.map((n) => summariseN(byN.get(n)!));
  const top = perN[perN.length - 1];
  const out: Record<string, unknown> = {
    bench: 'scale',
    rounds: settings?.rounds ?? (top ? top.rounds : 0),
    order: 'each round runs every N on a fresh cluster; rounds alternate the order of the Ns',
    settings: settings ?? null,
    nodes: top ? top.nodes : null,
    tasks: top ? top.tasks : null,
    raft_tick_ms: top ? top.raft_tick_ms : null,
  };
  if (top) {
    for (const k of FIGURES) Object.assign(out, figureFields(k, figureOver(byN.get(ns[ns.length - 1])!, k)));
    out.rounds_failed = top.rounds_failed;
    out.load = top.load;
  }
  out.runs = perN;
  out.targets_from = 'medians';
  out.targets = top ? {
    leader_cpu_under_50pct: under(top.leader_cpu_pct, 50),
    schedule10k_under_10s: under(top.schedule10k_ms, 10_000),
    mass_loss_under_5s: under(top.mass_loss_ms, 5000),
    failover_under_3s: under(top.failover_ms, 3000),
  } : {};
  return out;
}
