// The chaos nemesis: a seeded schedule of faults (pure), and the code that applies it to a
// lab. The schedule is a list of rounds; each round injects one fault, or two at once where
// quorum allows (a manager fault plus a worker fault), holds them, heals them and leaves a
// quiet gap. At no instant are more managers impaired (killed, paused or cut off from the
// majority) than a quorum survives: floor((managers - 1) / 2).
import { prng } from '../../src/common/prng.ts';
import type { Lab } from '../lib/lab.ts';
import { clockFile, setClock } from './clock.ts';

// The project's seeded PRNG (mulberry32), re-exported for run.ts and the tests.
export { prng };

/** An integer in [lo, hi] drawn from `rnd`. */
export function between(rnd: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rnd() * (hi - lo + 1));
}

/** One element of `xs` drawn from `rnd`. */
export function pick<T>(rnd: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)];
}

/**
 * One fault. `kill`: SIGKILL of the host's daemon and containers, restarted at heal.
 * `pause`: SIGSTOP of the daemon, SIGCONT at heal. `isolate`: the host cut off the underlay.
 * `split`: the `hosts` cut off from every other host (a minority side; the rest is the
 * majority side). `oneway`: the host hears nothing from the `from` hosts but still sends to
 * them. `kill-leader-mid-update`: a service update is acknowledged, then the leader's daemon
 * is killed while the update rolls (the leader is found when the fault starts and written
 * into `host`), restarted at heal. `clock`: the daemon's wall clock stepped by `offsetMs`
 * (forward or back; monotonic time untouched, see clock.ts), stepped back to real time at
 * heal; without `host` it hits the leader (found when the fault starts).
 */
export type Fault =
  | { kind: 'kill'; host: string }
  | { kind: 'pause'; host: string }
  | { kind: 'isolate'; host: string }
  | { kind: 'split'; hosts: string[] }
  | { kind: 'oneway'; host: string; from: string[] }
  | { kind: 'kill-leader-mid-update'; host?: string }
  | { kind: 'clock'; host?: string; offsetMs: number };

/** A round: `faults` injected at `at` (ms from start), healed at `at + holdMs`. */
export interface Round {
  at: number;
  holdMs: number;
  faults: Fault[];
}

/** What the schedule is built for. */
export interface ScheduleOptions {
  seed: number;
  /** Manager hosts (first ones of the lab). */
  managers: string[];
  /** Worker hosts. */
  workers: string[];
  /** Length of the fault phase, ms; no round is healed after it. */
  durationMs: number;
  /** Range of a round's hold time, ms. Default [2000, 8000]. */
  holdMs?: [number, number];
  /** Range of the quiet gap after a round, ms. Default [2000, 6000]. */
  gapMs?: [number, number];
}

/** Where the leader is unknown until the fault starts, it counts as this one manager. */
export const LEADER = 'leader';

/**
 * Hosts a fault impairs (a split impairs its minority side). A clock jump counts too,
 * conservatively: a manager whose clock is off must not be the one that breaks a quorum.
 */
export function impaired(f: Fault): string[] {
  return f.kind === 'split' ? f.hosts : [f.host ?? LEADER];
}

/** The largest number of managers that may be impaired at once and still leave a quorum. */
export function tolerated(managers: number): number {
  return Math.floor((managers - 1) / 2);
}

/** Largest forward and backward clock steps, s: minutes, well inside the certificates' 1 h backdate. */
export const CLOCK_FORWARD_MAX_S = 600;
export const CLOCK_BACK_MAX_S = 300;

/**
 * A clock step, ms: forward or back with even odds, 5 s up to the bounds above, whole
 * seconds — always longer than the heartbeat grace (three 1 s periods), so code that
 * times heartbeats or leases with Date.now sees them as overdue (forward) or as coming
 * from the future (back).
 */
export function clockJump(rnd: () => number): number {
  return rnd() < 0.5 ? between(rnd, 5, CLOCK_FORWARD_MAX_S) * 1000 : -between(rnd, 5, CLOCK_BACK_MAX_S) * 1000;
}

function oneFault(rnd: () => number, host: string): Fault {
  const kind = pick(rnd, ['kill', 'kill', 'pause', 'isolate', 'clock'] as const);
  return kind === 'clock' ? { kind, host, offsetMs: clockJump(rnd) } : { kind, host };
}

/**
 * Builds the seeded schedule. Pure: the same options give the same rounds. Rounds do not
 * overlap, so the per-round bound on impaired managers holds at every instant.
 */
export function schedule(opts: ScheduleOptions): Round[] {
  const rnd = prng(opts.seed);
  const [hLo, hHi] = opts.holdMs ?? [2000, 8000];
  const [gLo, gHi] = opts.gapMs ?? [2000, 6000];
  const maxDown = tolerated(opts.managers.length);
  const rounds: Round[] = [];
  let t = between(rnd, gLo, gHi);
  for (;;) {
    const holdMs = between(rnd, hLo, hHi);
    if (t + holdMs > opts.durationMs) break;
    const faults: Fault[] = [];
    const shape = rnd();
    const mgr = maxDown > 0 ? pick(rnd, opts.managers) : undefined;
    const wkr = opts.workers.length ? pick(rnd, opts.workers) : undefined;
    if (shape < 0.3 && mgr) {
      faults.push(oneFault(rnd, mgr));
    } else if (shape < 0.5 && wkr) {
      faults.push(oneFault(rnd, wkr));
    } else if (shape < 0.7 && mgr && maxDown >= 2 && rnd() < 0.5) {
      // Two managers at once, where quorum allows it (5 managers or more).
      const other = pick(rnd, opts.managers.filter((m) => m !== mgr));
      faults.push(oneFault(rnd, mgr), oneFault(rnd, other));
    } else if (shape < 0.7 && mgr && wkr) {
      // Two at once: one manager and one worker.
      faults.push(oneFault(rnd, mgr), oneFault(rnd, wkr));
    } else if (shape < 0.78 && mgr) {
      // Majority/minority: a manager (and maybe a worker) on the minority side.
      faults.push({ kind: 'split', hosts: wkr && rnd() < 0.5 ? [mgr, wkr] : [mgr] });
    } else if (shape < 0.86 && mgr && opts.managers.length > 1) {
      // One way: a manager stops hearing another manager (and maybe a worker).
      const other = pick(rnd, opts.managers.filter((m) => m !== mgr));
      faults.push({ kind: 'oneway', host: mgr, from: wkr && rnd() < 0.5 ? [other, wkr] : [other] });
    } else if (shape < 0.92 && mgr) {
      // Alone in its round: the leader it hits is only known when it starts.
      faults.push({ kind: 'kill-leader-mid-update' });
    } else if (shape < 0.96 && mgr) {
      // The leader's clock (it runs the dispatcher, node health, store timestamps); alone
      // in its round for the same reason.
      faults.push({ kind: 'clock', offsetMs: clockJump(rnd) });
    } else if (mgr) {
      faults.push({ kind: 'isolate', host: mgr });
    } else if (wkr) {
      faults.push(oneFault(rnd, wkr));
    }
    if (faults.length) rounds.push({ at: t, holdMs, faults });
    t += holdMs + between(rnd, gLo, gHi);
  }
  return rounds;
}

/** Short text of a fault for logs and the history. */
export function describeFault(f: Fault): string {
  if (f.kind === 'split') return `split ${f.hosts.join('+')}|rest`;
  if (f.kind === 'oneway') return `oneway ${f.host}<-/-${f.from.join('+')}`;
  if (f.kind === 'clock') return `clock ${f.host ?? LEADER} ${f.offsetMs >= 0 ? '+' : '-'}${Math.abs(f.offsetMs / 1000)}s`;
  return `${f.kind} ${f.host ?? LEADER}`;
}

/** What faults need from the run beyond the lab: the leader, and an update to aim at. */
export interface NemesisContext {
  /** The host whose daemon leads now. */
  leader(): Promise<string>;
  /** Starts a service update and resolves once it is acknowledged (false when there was none to make). */
  startUpdate(): Promise<boolean>;
}

/** Restarts a killed host's daemon (at heal); see {@link restartDaemon}. */
export type Restart = (host: string) => Promise<unknown>;

const kill = { on: (lab: Lab, h: string) => lab.killDaemon(h), off: (_lab: Lab, h: string, restart: Restart) => restart(h) };

/** Per kind of fault, how one impaired host is hit and healed; `rest` is every other lab host. */
const ACTIONS: Record<Fault['kind'], { on(lab: Lab, host: string, rest: string[], f: Fault): unknown; off(lab: Lab, host: string, restart: Restart): unknown }> = {
  kill,
  'kill-leader-mid-update': kill,
  pause: { on: (lab, h) => lab.pauseDaemon(h), off: (lab, h) => lab.resumeDaemon(h) },
  isolate: { on: (lab, h) => lab.partition(h), off: (lab, h) => lab.heal(h) },
  split: { on: (lab, h, rest) => lab.partition(h, { from: rest }), off: (lab, h) => lab.heal(h) },
  oneway: { on: (lab, h, _rest, f) => lab.partition(h, { from: (f as { from: string[] }).from, direction: 'in' }), off: (lab, h) => lab.heal(h) },
  clock: {
    on: (lab, h, _rest, f) => setClock(clockFile(lab.names.hostDir(h)), (f as { offsetMs: number }).offsetMs),
    off: (lab, h) => setClock(clockFile(lab.names.hostDir(h)), 0),
  },
};

/** How {@link restartDaemon} retries. */
export interface RestartPolicy {
  /** Attempts in all (at least 1). */
  attempts: number;
  /** Told of every failed attempt (to record it); the error is the lab's DaemonStartError. */
  onFailure(host: string, attempt: number, err: Error): void;
}

/**
 * Starts a host's daemon again, retrying a failed start: on a loaded machine a restart can
 * miss its /_ping deadline, and a node silently left down would make later rounds harsher
 * than the schedule means. Before a retry the host is cleared as after a crash (whatever
 * the failed daemon started is killed). Throws the last error when every attempt failed.
 */
export async function restartDaemon(lab: Lab, host: string, policy: RestartPolicy): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await lab.startDaemon(host);
      return;
    } catch (err) {
      policy.onFailure(host, attempt, err as Error);
      if (attempt >= policy.attempts) throw err;
      await lab.killDaemon(host).catch(() => {});
    }
  }
}

/** Injects one fault into the lab. */
export async function inject(lab: Lab, f: Fault, ctx?: NemesisContext): Promise<void> {
  if (f.kind === 'kill-leader-mid-update') {
    if (!ctx) throw new Error('chaos: kill-leader-mid-update needs the run context');
    await ctx.startUpdate();
    f.host = await ctx.leader();
  }
  if (f.kind === 'clock' && !f.host) {
    if (!ctx) throw new Error('chaos: a clock jump of the leader needs the run context');
    f.host = await ctx.leader();
  }
  const hosts = impaired(f);
  const rest = lab.hosts.filter((h) => !hosts.includes(h));
  for (const h of hosts) await ACTIONS[f.kind].on(lab, h, rest, f);
}

/**
 * Undoes one fault: restarts a killed daemon (through `restart`, by default one plain
 * start), resumes a paused one, heals a partition, resets a clock.
 */
export async function undo(lab: Lab, f: Fault, restart: Restart = (h) => lab.startDaemon(h)): Promise<void> {
  if ((f.kind === 'kill-leader-mid-update' || f.kind === 'clock') && !f.host) return;
  for (const h of impaired(f)) await ACTIONS[f.kind].off(lab, h, restart);
}
