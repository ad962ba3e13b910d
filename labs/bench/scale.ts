/**
 * `npm run bench -- scale [--nodes 100,500,1000] [--rounds 3] [--tasks 10000] [--lost 100] [--rest-s 10]
 *   [--per-proc 500] [--raft-tick-ms T] [--step-timeout-s 180] [--profile DIR [--profile-failover]] [--keep-logs DIR]`
 *
 * How far one manager trio goes (issue 19, item 3). `--rounds R` rounds, each of which
 * runs every N once on a fresh cluster (the order of the Ns alternating between rounds);
 * every figure is the median of an N's rounds with min, max and the count of rounds that
 * measured it beside it, a failed round is reported with its errors, and the targets are
 * read from the medians (issue 20, item 1; `scale-report.ts`). In each round: three real manager
 * daemons on loopback (`scale-cluster.ts`), N simulated workers (`labs/scale/`: real join
 * with the worker token and one CSR per node, real mTLS sessions and heartbeats, an agent
 * stub that reports preparing → running without containers), few processes of them
 * (`--per-proc` nodes each). Then, in order:
 *
 * - `leader_cpu_pct`, `leader_rss_mb`: the leader daemon's CPU (% of one core, from
 *   /proc/PID/stat over `--rest-s` seconds) and RSS, all N sessions up, no tasks;
 * - `heartbeat_lag_ms`: p99 of heartbeat → ack round trips seen by the nodes over that
 *   window (`heartbeat_lag_p50_ms` beside it);
 * - `schedule10k_ms`: one service of `--tasks` replicas, from `POST /services/create`
 *   until the leader's service status counts them all running;
 * - `mass_loss_ms`: kill -9 of the process holding `--lost` nodes (at most N/5); from the
 *   first of them seen down in `/nodes` until the service counts all replicas running
 *   again (`mass_loss_detect_ms`: from the kill to that first detection);
 * - `failover_ms`: kill -9 of the leader daemon, until every session got a heartbeat
 *   answer from another manager (the new leader; only a leader answers heartbeats).
 *
 * `--raft-tick-ms T` runs the managers on a slower Raft clock (election timeout 50 T): on a
 * loaded machine the default 10 ms (500 ms election timeout) lets a starved leader lose
 * its quorum check while it writes thousands of tasks.
 *
 * Prints figures and `uptime` load beside them; the last line is one JSON object (the
 * largest N's medians at the top level with `_min`/`_max`/`_runs` twins, every N's under
 * `runs` with each round's record under `per_round`, every setting under `settings`).
 * Asserts nothing about time.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { Node } from '../../src/api/types/node.ts';
import type { Service } from '../../src/api/types/service.ts';
import { cpuTimeMs, sleep } from '../lib/procs.ts';
import { downOnSignal } from '../lib/lab.ts';
import { checkArgs } from '../lib/bench-args.ts';
import { ScaleCluster, type ManagerProc, type SimProc } from './scale-cluster.ts';
import { scaleReport, type ScaleRun, type ScaleSettings } from './scale-report.ts';
import { orderFor } from './fair.ts';
import type { BenchContext } from './run-bench.ts';

export { scaleReport, type ScaleRun };

/** Options of one bench invocation. */
export interface ScaleOptions {
  nodes: number[];
  /** Rounds per N, each on a fresh cluster (default 3): every figure is the median of them. */
  rounds?: number;
  tasks: number;
  lost: number;
  restS: number;
  perProc: number;
  /** Writes the managers' CPU profiles (node --cpu-prof) here; the leader is then not killed (no failover figure) unless `profileFailover`. */
  profileDir?: string;
  /** With `profileDir`: kill the leader all the same; its profile is lost, the new leader's (written when the bench ends) covers the failover. */
  profileFailover?: boolean;
  /** Copies the managers' logs of each N here (DIR/nN/m1.log …) before their data roots go. */
  keepLogs?: string;
  /** The managers' Raft tick, ms (SHOAL_RAFT_TICK_MS: election timeout 50 ticks); the daemon's default (10) when unset. */
  raftTickMs?: number;
  /** Gives up on any one step after this long, ms (default 180 000). */
  stepTimeoutMs?: number;
  log?: (line: string) => void;
  /** Aborted (SIGINT/SIGTERM through `npm run bench`): no further round starts. */
  signal?: AbortSignal;
  /** Measures one round of one N (default `runOnce`); the tests of the rounds' bookkeeping pass a stub. */
  measure?: (n: number, o: ScaleOptions, roundNo: number) => Promise<ScaleRun>;
}

const round = (x: number) => Math.round(x * 10) / 10;

/** The `p`th percentile of `xs` to 0.01 (round trips are sub-millisecond to seconds), null when empty. */
function percentile(xs: number[], p: number): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] * 100) / 100;
}

function rssMb(pid: number): number | null {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? round(Number(m[1]) / 1024) : null;
}

/** Polls `fn` every `everyMs` until it gives something truthy; throws naming `what` after `timeoutMs`. */
async function until<T>(what: string, fn: () => Promise<T | false | undefined>, timeoutMs: number, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch {
      // a manager busy or gone for a moment: ask again
    }
    if (Date.now() > deadline) throw new Error(`scale: timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** The leader's CPU over `seconds` (% of one core). */
async function cpuPct(pid: number, seconds: number): Promise<number | null> {
  const c0 = cpuTimeMs(pid);
  const t0 = Date.now();
  await sleep(seconds * 1000);
  const c1 = cpuTimeMs(pid);
  return c0 === undefined || c1 === undefined ? null : round(((c1 - c0) / (Date.now() - t0)) * 100);
}

/** CPU time (ms) of the processes of simulated nodes, summed. */
function simsCpuMs(sims: SimProc[]): number {
  return sims.reduce((sum, p) => sum + (cpuTimeMs(p.pid) ?? 0), 0);
}

/** CPU time (ms) of every manager process still alive, summed. */
function managersCpuMs(ms: ManagerProc[]): number {
  return ms.reduce((sum, m) => sum + (cpuTimeMs(m.pid) ?? 0), 0);
}

async function allStats(sims: SimProc[]) {
  return Promise.all(sims.map((s) => s.ask({ type: 'stats' }, 'stats')));
}

/** Running replicas of `id` as the manager `api` counts them (`docker service ls`). */
async function running(m: ManagerProc, id: string): Promise<number> {
  const list = await m.api.get<(Service & { ServiceStatus?: { RunningTasks: number } })[]>(`/services?status=true&filters=${encodeURIComponent(JSON.stringify({ id: [id] }))}`, { timeoutMs: 10_000 });
  return list[0]?.ServiceStatus?.RunningTasks ?? 0;
}

/** The held-session counts of the managers' `/metrics` (`shoal_dispatcher_held_sessions_total`), summed over `ms`. */
async function heldSessions(ms: ManagerProc[]): Promise<Record<string, number>> {
  const sum: Record<string, number> = { adopted: 0, redirected: 0, expired: 0 };
  for (const m of ms) {
    const text = await (await fetch(`http://${m.metricsAddr}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
    for (const [, outcome, v] of text.matchAll(/^shoal_dispatcher_held_sessions_total\{outcome="(\w+)"\} (\d+)$/gm)) sum[outcome] = (sum[outcome] ?? 0) + Number(v);
  }
  return sum;
}

/** A round's record before it measured anything (every figure null). */
function emptyRun(n: number, roundNo: number, o: ScaleOptions): ScaleRun {
  return {
    nodes: n, round: roundNo, tasks: o.tasks, lost: Math.min(o.lost, Math.floor(n / 5)), raft_tick_ms: o.raftTickMs ?? null, join_ms: null, leader_cpu_pct: null, leader_rss_mb: null,
    leader_cpu_pct_with_tasks: null, heartbeat_lag_ms: null, heartbeat_lag_p50_ms: null, schedule10k_ms: null, mass_loss_detect_ms: null, mass_loss_ms: null,
    schedule10k_cpu_ms: null, mass_loss_cpu_ms: null, failover_ms: null, failover_first_ms: null, failover_p50_ms: null, failover_cpu_ms: null, failover_sims_cpu_ms: null, load: [round(loadavg()[0]), 0], errors: [],
  };
}

/**
 * One round of one N: a fresh cluster (new data roots, ports and processes), every step,
 * everything killed at the end, pass or fail. What the clean-up could not remove is an
 * error of the round (`left behind: …`), so the caller can refuse to start another.
 */
export async function runOnce(n: number, o: ScaleOptions, roundNo = 1): Promise<ScaleRun> {
  const log = o.log ?? ((l: string) => console.log(l));
  const stepMs = o.stepTimeoutMs ?? 180_000;
  const r = emptyRun(n, roundNo, o);
  const lost = r.lost;
  const cluster = new ScaleCluster();
  // Interrupted (Ctrl-C, a timeout): every process started here goes, by its PID.
  const release = downOnSignal(async () => void (await cluster.close()));
  try {
    await cluster.startManagers(3, o.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}`] : [],
      o.raftTickMs ? { SHOAL_RAFT_TICK_MS: String(o.raftTickMs) } : {});
    const token = await cluster.workerToken();
    const joinAddr = cluster.managers[0].addr;
    // The nodes to lose at once live in a process of their own, so one kill -9 takes them all.
    const doomed = lost > 0 ? cluster.startSims() : undefined;
    const rest: SimProc[] = [];
    const t0 = Date.now();
    const joins: Promise<{ nodeIds: string[]; failed: string[] }>[] = [];
    // A join of hundreds of nodes may take as long as any step (58.7 s for 1,000 in session 7).
    if (doomed) joins.push(doomed.ask({ type: 'join', from: 0, count: lost, joinAddr, token }, 'joined', stepMs));
    for (let from = lost; from < n; from += o.perProc) {
      const p = cluster.startSims();
      rest.push(p);
      joins.push(p.ask({ type: 'join', from, count: Math.min(o.perProc, n - from), joinAddr, token }, 'joined', stepMs));
    }
    const joined = await Promise.all(joins);
    const failed = joined.flatMap((j) => j.failed);
    if (failed.length) r.errors.push(`${failed.length} joins failed, first: ${failed[0]}`);
    const doomedIds = new Set(doomed ? joined[0].nodeIds : []);
    const sims = doomed ? [doomed, ...rest] : rest;
    await until(`${n} ready workers`, async () => {
      const nodes = await cluster.managers[0].api.get<Node[]>('/nodes', { timeoutMs: 10_000 });
      return nodes.filter((x) => x.Spec.Role === 'worker' && x.Status.State === 'ready').length >= n - failed.length;
    }, stepMs, 500);
    r.join_ms = Date.now() - t0;
    log(`scale n=${n} round ${roundNo}: ${n - failed.length} nodes joined and ready in ${r.join_ms} ms (load ${loadavg()[0].toFixed(2)})`);

    // At rest.
    const leader = await until('a leader', () => cluster.leader(), stepMs);
    // Polls go to a follower (its store is a replica): the leader's figures carry none of the bench's own questions.
    const observer = (l: ManagerProc) => cluster.managers.find((m) => m !== l && m.child.exitCode === null && m.child.signalCode === null) ?? l;
    await allStats(sims);
    r.leader_cpu_pct = await cpuPct(leader.pid, o.restS);
    r.leader_rss_mb = rssMb(leader.pid);
    const rtts = (await allStats(sims)).flatMap((s) => s.rtts);
    r.heartbeat_lag_ms = percentile(rtts, 99);
    r.heartbeat_lag_p50_ms = percentile(rtts, 50);
    log(`scale n=${n} round ${roundNo}: at rest leader cpu ${r.leader_cpu_pct} % rss ${r.leader_rss_mb} MB, heartbeat lag p50 ${r.heartbeat_lag_p50_ms} ms p99 ${r.heartbeat_lag_ms} ms (${rtts.length} beats, load ${loadavg()[0].toFixed(2)})`);

    // 10,000 tasks, then the mass loss: a failure there is recorded and the failover still measured.
    let now = leader;
    try {
    const s0 = Date.now();
    const c0 = managersCpuMs(cluster.managers);
    const created = await leader.api.post<{ ID: string }>('/services/create', {
      Name: 'scale', TaskTemplate: { ContainerSpec: { Image: 'scale-sim:latest' } }, Mode: { Replicated: { Replicas: o.tasks } },
    }, { timeoutMs: 60_000 });
    await until(`${o.tasks} running tasks`, async () => (await running(observer(leader), created.ID)) >= o.tasks, stepMs, 100);
    r.schedule10k_ms = Date.now() - s0;
    r.schedule10k_cpu_ms = managersCpuMs(cluster.managers) - c0;
    log(`scale n=${n} round ${roundNo}: ${o.tasks} tasks running in ${r.schedule10k_ms} ms, managers' CPU ${r.schedule10k_cpu_ms} ms (load ${loadavg()[0].toFixed(2)})`);
    // Leadership may have moved under load: each later step starts from the leader of the moment.
    now = await until('a leader', () => cluster.leader(), stepMs);
    if (now !== leader) r.errors.push(`leadership moved from ${leader.name} to ${now.name} while scheduling`);
    r.leader_cpu_pct_with_tasks = await cpuPct(now.pid, Math.min(5, o.restS));
    log(`scale n=${n} round ${roundNo}: leader cpu with the tasks running ${r.leader_cpu_pct_with_tasks} %`);

    // Mass loss.
    if (doomed) {
      const k0 = Date.now();
      doomed.child.kill('SIGKILL');
      sims.shift();
      const detected = await until(`one of ${lost} lost nodes down`, async () => {
        const nodes = await observer(now).api.get<Node[]>('/nodes', { timeoutMs: 10_000 });
        return nodes.some((x) => doomedIds.has(x.ID) && x.Status.State === 'down') && Date.now();
      }, stepMs, 100);
      r.mass_loss_detect_ms = detected - k0;
      const c1 = managersCpuMs(cluster.managers);
      await until(`${o.tasks} running again`, async () => (await running(observer(now), created.ID)) >= o.tasks, stepMs, 100);
      r.mass_loss_ms = Date.now() - detected;
      r.mass_loss_cpu_ms = managersCpuMs(cluster.managers) - c1;
      log(`scale n=${n} round ${roundNo}: ${lost} nodes lost: first seen down after ${r.mass_loss_detect_ms} ms, tasks running again ${r.mass_loss_ms} ms later, managers' CPU ${r.mass_loss_cpu_ms} ms (load ${loadavg()[0].toFixed(2)})`);
    }
    } catch (err) {
      r.errors.push((err as Error).message);
      log(`scale n=${n} round ${roundNo}: ${(err as Error).message}`);
    }

    // Leader failover.
    if (o.profileDir && !o.profileFailover) return r;
    now = await until('a leader', () => cluster.leader(observer(now)), stepMs);
    await Promise.all(sims.map((s) => s.ask({ type: 'mark', addr: now.addr }, 'marked')));
    const survivors = cluster.managers.filter((m) => m !== now);
    const cpu0 = { managers: managersCpuMs(survivors), sims: simsCpuMs(sims) };
    const f0 = Date.now();
    now.child.kill('SIGKILL');
    const moved = await until('every session on the new leader', async () => {
      const st = await allStats(sims);
      const at = st.flatMap((s) => s.movedAt);
      return at.every((t) => t > 0) && at;
    }, stepMs, 100);
    r.failover_cpu_ms = managersCpuMs(survivors) - cpu0.managers;
    r.failover_sims_cpu_ms = simsCpuMs(sims) - cpu0.sims;
    r.failover_ms = Math.max(...moved) - f0;
    r.failover_first_ms = Math.min(...moved) - f0;
    const deciles = [10, 20, 30, 40, 50, 60, 70, 80, 90].map((p) => (percentile(moved, p) ?? f0) - f0);
    r.failover_p50_ms = deciles[4];
    log(`scale n=${n} round ${roundNo}: CPU from the kill until every session moved (polled every 100 ms): the two managers ${r.failover_cpu_ms} ms, the simulated nodes ${r.failover_sims_cpu_ms} ms`);
    log(`scale n=${n} round ${roundNo}: sessions on the new leader by decile, ms after the kill: ${deciles.join(' ')}`);
    r.failover_held = await heldSessions(survivors);
    log(`scale n=${n} round ${roundNo}: sessions held during the election: ${JSON.stringify(r.failover_held)} (adopted: kept by the new leader; redirected: by the other manager)`);
    log(`scale n=${n} round ${roundNo}: leader killed: first session on the new leader after ${r.failover_first_ms} ms, half after ${r.failover_p50_ms} ms, all ${moved.length} after ${r.failover_ms} ms (load ${loadavg()[0].toFixed(2)})`);
  } catch (err) {
    r.errors.push((err as Error).message);
    log(`scale n=${n} round ${roundNo}: ${(err as Error).message}`);
  } finally {
    r.stale_replies = cluster.sims.reduce((sum, s) => sum + s.stale, 0);
    if (r.stale_replies) log(`scale n=${n} round ${roundNo}: ${r.stale_replies} late replies of the simulated nodes dropped`);
    const left = await cluster.close(o.keepLogs ? join(o.keepLogs, `n${n}`, `r${roundNo}`) : undefined)
      .catch((err: unknown) => [`clean-up failed: ${(err as Error).message}`]);
    release();
    r.load[1] = round(loadavg()[0]);
    if (left.length) r.errors.push(`left behind: ${left.join(', ')}`);
  }
  return r;
}

function arg(args: string[], name: string, def: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : def;
}

/** What the JSON records of how the bench ran (every option, the daemons' environment, Node's version). */
function settingsOf(o: ScaleOptions, rounds: number): ScaleSettings {
  return {
    nodes: o.nodes, rounds, tasks: o.tasks, lost: o.lost, rest_s: o.restS, per_proc: o.perProc, raft_tick_ms: o.raftTickMs ?? null,
    step_timeout_s: (o.stepTimeoutMs ?? 180_000) / 1000, profile_dir: o.profileDir ?? null, profile_failover: !!o.profileFailover,
    keep_logs: o.keepLogs ?? null,
    daemon_env: { SHOAL_DATA_PLANE: 'off', ...(o.raftTickMs ? { SHOAL_RAFT_TICK_MS: String(o.raftTickMs) } : {}) },
    node_version: process.version,
  };
}

/** The figures read from the JSON, one line per N: median (min–max, rounds that measured it). */
const SHOWN = ['leader_cpu_pct', 'leader_rss_mb', 'heartbeat_lag_ms', 'schedule10k_ms', 'mass_loss_ms', 'failover_ms', 'failover_first_ms', 'failover_p50_ms'] as const;

/**
 * `rounds` rounds (default 3), each running every N on a fresh cluster; the order of the
 * Ns alternates between rounds (fair.ts `orderFor`), so a load that drifts while the bench
 * runs falls on every N alike. A round that fails is kept with its errors. A round that
 * left processes or files behind stops the bench: the rounds it did not run are recorded
 * as failed ("not run"), since figures taken beside leftovers would not be a clean state.
 * An abort (`signal`) stops between rounds; the report then says `aborted`.
 */
export async function runScale(o: ScaleOptions): Promise<Record<string, unknown>> {
  const log = o.log ?? ((l: string) => console.log(l));
  const rounds = o.rounds ?? 3;
  const runs: ScaleRun[] = [];
  let stop: string | undefined;
  for (let k = 1; k <= rounds && !o.signal?.aborted; k++) {
    for (const n of orderFor(k - 1, o.nodes)) {
      if (o.signal?.aborted) break;
      if (stop) {
        runs.push({ ...emptyRun(n, k, o), errors: [`not run: ${stop}`] });
        continue;
      }
      let r: ScaleRun;
      try {
        r = await (o.measure ?? runOnce)(n, o, k);
      } catch (err) {
        // runOnce catches its steps' errors; this is its set-up or clean-up failing.
        r = { ...emptyRun(n, k, o), errors: [(err as Error).message] };
      }
      runs.push(r);
      const left = r.errors.find((e) => e.startsWith('left behind: '));
      if (left) stop = `n=${n} round ${k} ${left}`;
    }
  }
  const report = scaleReport(runs, settingsOf(o, rounds));
  if (o.signal?.aborted) report.aborted = String((o.signal.reason as Error)?.message ?? o.signal.reason);
  for (const s of report.runs as Record<string, unknown>[]) {
    const fig = (k: string) => `${k} ${s[k]} (${s[`${k}_min`] ?? '-'}–${s[`${k}_max`] ?? '-'}, ${s[`${k}_runs`]} runs)`;
    log(`scale n=${s.nodes}: ${s.rounds} rounds, ${s.rounds_failed} failed, load ${JSON.stringify(s.load)}: ${SHOWN.map(fig).join(', ')}`);
  }
  return report;
}

/** A whole number of at least `min` from flag `name`, or an error naming the flag. */
function count(name: string, text: string, min = 1): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new Error(`scale: --${name} wants a whole number of at least ${min}, got "${text}"`);
  return n;
}

/** The flags that take a value, and the one that takes none; anything else is refused, never ignored. */
const VALUE_FLAGS = ['nodes', 'rounds', 'tasks', 'lost', 'rest-s', 'per-proc', 'raft-tick-ms', 'step-timeout-s', 'profile', 'keep-logs'];
const BARE_FLAGS = ['profile-failover'];

export async function run(args: string[], ctx?: BenchContext): Promise<void> {
  checkArgs('scale', args, VALUE_FLAGS, BARE_FLAGS);
  if (args.includes('--profile-failover') && !args.includes('--profile')) throw new Error('scale: --profile-failover needs --profile DIR');
  const nodes = arg(args, 'nodes', '100,500,1000').split(',').map((n) => count('nodes', n));
  // The report groups rounds by N: an N listed twice would silently double its rounds.
  const twice = nodes.find((n, i) => nodes.indexOf(n) !== i);
  if (twice !== undefined) throw new Error(`scale: --nodes lists ${twice} twice (use --rounds for more rounds)`);
  const report = await runScale({
    nodes,
    rounds: count('rounds', arg(args, 'rounds', '3')),
    tasks: count('tasks', arg(args, 'tasks', '10000')),
    lost: count('lost', arg(args, 'lost', '100'), 0),
    restS: count('rest-s', arg(args, 'rest-s', '10')),
    perProc: count('per-proc', arg(args, 'per-proc', '500')),
    profileDir: args.includes('--profile') ? arg(args, 'profile', '') : undefined,
    profileFailover: args.includes('--profile-failover'),
    stepTimeoutMs: count('step-timeout-s', arg(args, 'step-timeout-s', '180')) * 1000,
    keepLogs: args.includes('--keep-logs') ? arg(args, 'keep-logs', '') : undefined,
    raftTickMs: args.includes('--raft-tick-ms') ? count('raft-tick-ms', arg(args, 'raft-tick-ms', '')) : undefined,
    signal: ctx?.signal,
  });
  console.log(JSON.stringify(report));
  // The figures of the rounds that ran are printed above; the abort itself is what the dispatcher expects back.
  if (ctx?.signal.aborted) throw ctx.signal.reason;
}
