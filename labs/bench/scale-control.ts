/**
 * `npm run bench -- scale-control [--nodes 100] [--tasks 10000] [--rounds 3] [--round-timeout-s 600]`
 *
 * The leader's control plane alone, in this one process: a `MemoryStore` whose proposer
 * encodes and decodes every transaction as the Raft log carries it (no replication, no
 * WAL, no sockets), every leader controller (`LeaderControllers`), N ready nodes, and
 * simulated agents that move each assigned task to preparing then running, 500 reports a
 * transaction (as the dispatcher writes them). One service of `--tasks` replicas, until
 * all run. Figures: this process's CPU (`cpu_ms`, the work itself, which a shared
 * machine's load does not inflate), the wall time, the longest event-loop block
 * (`loop_block_max_ms`, what starves Raft's heartbeats in the real daemon), the longest
 * apply of one entry, and the largest synchronous part of each controller's passes.
 * Complements `scale.ts` (real daemons and sessions), whose durations follow the load.
 *
 * Each of `--rounds` rounds (default 3) runs in a fresh Node process (`--in-process`:
 * a new heap and no JIT warmed by an earlier round), killed by its PID if it outlives
 * `--round-timeout-s`. Every figure is the median of the rounds with `_min`, `_max`,
 * `_runs` (and `_failed`) beside it (issue 20 item 1, `fair.ts`); a failed round is
 * listed, each round's own JSON kept under `per_round`.
 * The last line is one JSON object. Asserts nothing about time.
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { performance, monitorEventLoopDelay } from 'node:perf_hooks';
import { MemoryStore, encodeActions, decodeActions } from '../../src/store/index.ts';
import type { CommitTarget, Proposer, StoreAction } from '../../src/store/index.ts';
import { aCluster, aNode, aService } from '../../src/store/testing.ts';
import { nullLogger } from '../../src/common/logger.ts';
import { LeaderControllers } from '../../src/manager/controllers/index.ts';
import { reportedTask } from '../../src/swarm/assignments.ts';
import { STATUS_BATCH_MAX } from '../../src/swarm/status-batch.ts';
import type { Task } from '../../src/api/types/task.ts';
import { REPO_ROOT } from '../lib/daemon.ts';
import { checkArgs } from '../lib/bench-args.ts';
import { figureFields, median, summary } from './fair.ts';
import type { BenchContext } from './run-bench.ts';

/** Commits through the log's codec, one macrotask later, and times each apply. */
class CodecProposer implements Proposer {
  applyMaxMs = 0;
  entries = 0;
  constructor(private readonly target: CommitTarget) {}
  async propose(actions: readonly StoreAction[]): Promise<{ index: number }> {
    const bytes = encodeActions(actions);
    await new Promise((r) => setImmediate(r));
    const t0 = performance.now();
    const r = this.target.applyCommitted(decodeActions(bytes), this.target.lastIndex + 1);
    this.applyMaxMs = Math.max(this.applyMaxMs, performance.now() - t0);
    this.entries++;
    return r;
  }
}

function arg(args: string[], name: string, def: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : def;
}

const round = (x: number) => Math.round(x);

/** One run: N nodes, T tasks; resolves with the figures. */
export async function controlPlane(nodes: number, tasks: number): Promise<Record<string, unknown>> {
  let proposer!: CodecProposer;
  const store = new MemoryStore({ proposer: (s) => (proposer = new CodecProposer(s)) });
  await store.update((tx) => void tx.create('cluster', aCluster()));
  for (let i = 0; i < nodes; i += 100) {
    await store.update((tx) => {
      for (let j = i; j < Math.min(nodes, i + 100); j++) tx.create('node', aNode(`n${j}`));
    });
  }
  const leaders = new LeaderControllers({ store, raft: { on: () => () => {} }, isLeader: true }, nullLogger);
  // The synchronous part of each controller's passes (the async rest waits on the log).
  const passMax: Record<string, number> = {};
  for (const c of (leaders as unknown as { controllers: { pass(): Promise<void>; constructor: { name: string } }[] }).controllers) {
    const pass = c.pass.bind(c);
    c.pass = () => {
      const t0 = performance.now();
      const p = pass();
      const name = c.constructor.name.replace(/Controller$/, '');
      passMax[name] = Math.max(passMax[name] ?? 0, round(performance.now() - t0));
      return p;
    };
  }
  const block = monitorEventLoopDelay({ resolution: 5 });
  block.enable();
  const load0 = loadavg()[0];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const { value: svc } = await store.update((tx) => tx.create('service', aService('scale', tasks)));
  const ofService = () => store.view((tx) => tx.find('task', { serviceId: svc.ID }));
  let reporting = false;
  const agents = setInterval(() => {
    if (reporting) return;
    reporting = true;
    void (async () => {
      const moving = ofService().filter((t) => t.NodeID && t.DesiredState === 'running' && t.Status.State !== 'running');
      const next = (t: Task): Task['Status'] => ({ ...t.Status, State: t.Status.State === 'preparing' ? 'running' : 'preparing', Timestamp: new Date().toISOString() });
      for (let i = 0; i < moving.length; i += STATUS_BATCH_MAX) {
        const batch = moving.slice(i, i + STATUS_BATCH_MAX);
        await store.update((tx) => {
          for (const t of batch) {
            const n = reportedTask(tx.get('task', t.ID), t.NodeID!, next(t));
            if (n) tx.update('task', n);
          }
        }).catch(() => {}); // a conflict with a controller's write: the next round reports again
      }
    })().finally(() => (reporting = false));
  }, 100);
  try {
    while (ofService().filter((t) => t.Status.State === 'running').length < tasks) await new Promise((r) => setTimeout(r, 50));
  } finally {
    clearInterval(agents);
    block.disable();
    leaders.close();
  }
  const cpu = process.cpuUsage(cpu0);
  const failover = await newLeaderPasses(store, proposer);
  return {
    bench: 'scale-control', nodes, tasks,
    cpu_ms: round((cpu.user + cpu.system) / 1000),
    wall_ms: round(performance.now() - t0),
    loop_block_max_ms: round(block.max / 1e6),
    apply_max_ms: round(proposer.applyMaxMs),
    entries: proposer.entries,
    pass_sync_max_ms: passMax,
    failover,
    load: [Math.round(load0 * 10) / 10, Math.round(loadavg()[0] * 10) / 10],
  };
}

/**
 * What a new leader's controllers cost on a store that already holds every task running
 * (a failover): fresh `LeaderControllers` make their first passes over everything; until
 * the log goes quiet. `cpu_ms` is the work; `loop_block_max_ms` is how long sessions
 * reconnecting to a real new leader could wait behind one pass.
 */
async function newLeaderPasses(store: MemoryStore, proposer: CodecProposer): Promise<Record<string, number>> {
  const block = monitorEventLoopDelay({ resolution: 5 });
  const entries0 = proposer.entries;
  block.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const leaders = new LeaderControllers({ store, raft: { on: () => () => {} }, isLeader: true }, nullLogger);
  // Quiet: no entry for 20 turns of 10 ms.
  for (let last = -1, still = 0; still < 20; ) {
    await new Promise((r) => setTimeout(r, 10));
    if (proposer.entries === last) {
      still++;
    } else {
      last = proposer.entries;
      still = 0;
    }
  }
  leaders.close();
  block.disable();
  const cpu = process.cpuUsage(cpu0);
  return { cpu_ms: round((cpu.user + cpu.system) / 1000), wall_ms: round(performance.now() - t0), loop_block_max_ms: round(block.max / 1e6), entries: proposer.entries - entries0 };
}

/** One round's outcome: its JSON (what `controlPlane` resolves with), or why it has none. */
export interface ControlRound {
  round: number;
  result?: Record<string, unknown>;
  error?: string;
}

/** The figures summarised over rounds, at the top level and under `failover`. */
const TOP_FIGURES = ['cpu_ms', 'wall_ms', 'loop_block_max_ms', 'apply_max_ms', 'entries'] as const;
const FAILOVER_FIGURES = ['cpu_ms', 'wall_ms', 'loop_block_max_ms', 'entries'] as const;

/** `key`'s values over the rounds that gave one; a round without a result is a failure of every figure. */
function over(rounds: readonly ControlRound[], get: (r: Record<string, unknown>) => unknown) {
  const values: number[] = [];
  const failed: string[] = [];
  for (const r of rounds) {
    const v = r.result ? get(r.result) : undefined;
    if (typeof v === 'number') values.push(v);
    else failed.push(`round ${r.round}: ${r.error ?? 'no figure'}`);
  }
  return summary(values, failed);
}

/**
 * The JSON line over the rounds: each figure's median with `_min`/`_max`/`_runs`
 * (`_failed` when a round gave none), the failover's the same under `failover`, each
 * controller's longest synchronous pass as the median over rounds, the failed rounds
 * counted and listed, the settings, and every round's own JSON under `per_round`. Pure.
 */
export function controlReport(rounds: readonly ControlRound[], settings: { nodes: number; tasks: number; rounds: number; round_timeout_s: number }): Record<string, unknown> {
  const ok = rounds.filter((r) => r.result).map((r) => r.result!);
  const failed = rounds.filter((r) => !r.result);
  const out: Record<string, unknown> = {
    bench: 'scale-control', nodes: settings.nodes, tasks: settings.tasks, rounds: settings.rounds,
    settings: { ...settings, each_round: 'a fresh node process', node_version: process.version },
  };
  for (const k of TOP_FIGURES) Object.assign(out, figureFields(k, over(rounds, (r) => r[k])));
  const names = [...new Set(ok.flatMap((r) => Object.keys((r.pass_sync_max_ms ?? {}) as object)))].sort();
  out.pass_sync_max_ms = Object.fromEntries(names.map((n) => [n, median(ok.map((r) => (r.pass_sync_max_ms as Record<string, number>)[n]).filter((v) => typeof v === 'number'))]));
  const failover: Record<string, unknown> = {};
  for (const k of FAILOVER_FIGURES) Object.assign(failover, figureFields(k, over(rounds, (r) => (r.failover as Record<string, unknown> | undefined)?.[k])));
  out.failover = failover;
  out.rounds_failed = failed.length;
  out.errors = failed.map((r) => `round ${r.round}: ${r.error}`);
  // Every load reading of the rounds (start and end of each), as a range.
  const load = summary(ok.flatMap((r) => r.load as [number, number]));
  out.load = load.values.length ? [load.min, load.max] : null;
  out.per_round = rounds;
  return out;
}

/**
 * One round in a fresh node process (`--in-process`); resolves with its JSON line, or
 * throws with its exit and the end of its output. The child is killed by its PID when
 * `timeoutMs` passes or `signal` aborts, and waited for, so no round outlives its turn.
 */
export async function roundInChild(nodes: number, tasks: number, timeoutMs: number, signal?: AbortSignal): Promise<Record<string, unknown>> {
  const main = new URL('./main.ts', import.meta.url).pathname;
  const child = spawn(process.execPath, ['--import', 'tsx', main, 'scale-control', '--in-process', '--nodes', String(nodes), '--tasks', String(tasks)], {
    cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'],
    // The round runs the store in its own process and starts no `shoal` command, so its
    // main.ts has no dist to build (labs/lib/fresh-dist.ts); under `npm run bench` this is
    // already set, and a unit test's round must not rebuild dist.
    env: { ...process.env, SHOAL_RUN: process.env.SHOAL_RUN || 'dist' },
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const kill = () => child.kill('SIGKILL');
  const timer = setTimeout(kill, timeoutMs);
  signal?.addEventListener('abort', kill, { once: true });
  if (signal?.aborted) kill(); // an abort that came before the listener fires no event
  try {
    const [code, sig] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
      child.on('close', (c, s) => resolve([c, s]));
      child.on('error', (e) => { err += String(e.message); resolve([null, null]); });
    });
    const last = out.trim().split('\n').pop() ?? '';
    if (code !== 0 || !last.startsWith('{')) {
      throw new Error(`scale-control: round process ended with ${sig ?? code}${sig === 'SIGKILL' && !signal?.aborted ? ` (over ${timeoutMs / 1000} s)` : ''}: ${(err || out).slice(-300)}`);
    }
    return JSON.parse(last) as Record<string, unknown>;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', kill);
  }
}

/** Every round in turn, each in its own process; a failed round is kept with its error. Stops between rounds on an abort. */
export async function controlRounds(o: { nodes: number; tasks: number; rounds: number; roundTimeoutS: number; signal?: AbortSignal; log?: (l: string) => void }): Promise<Record<string, unknown>> {
  const log = o.log ?? ((l: string) => console.log(l));
  const rounds: ControlRound[] = [];
  for (let k = 1; k <= o.rounds && !o.signal?.aborted; k++) {
    try {
      const r = await roundInChild(o.nodes, o.tasks, o.roundTimeoutS * 1000, o.signal);
      rounds.push({ round: k, result: r });
      const f = r.failover as Record<string, number>;
      log(`scale-control round ${k}: ${r.tasks} tasks on ${r.nodes} nodes: ${r.cpu_ms} ms CPU, ${r.wall_ms} ms wall, longest loop block ${r.loop_block_max_ms} ms; new leader's passes ${f.cpu_ms} ms CPU (load ${JSON.stringify(r.load)})`);
    } catch (err) {
      rounds.push({ round: k, error: (err as Error).message });
      log(`scale-control round ${k}: ${(err as Error).message}`);
    }
  }
  return controlReport(rounds, { nodes: o.nodes, tasks: o.tasks, rounds: o.rounds, round_timeout_s: o.roundTimeoutS });
}

export async function run(args: string[], ctx?: BenchContext): Promise<void> {
  checkArgs('scale-control', args, ['nodes', 'tasks', 'rounds', 'round-timeout-s'], ['in-process']);
  // `--in-process` is one round, in this process, with no timeout of its own: the round flags
  // would be read as taken when they were not.
  const roundFlags = ['--rounds', '--round-timeout-s'].filter((f) => args.includes(f));
  if (args.includes('--in-process') && roundFlags.length) throw new Error(`scale-control: ${roundFlags.join(' and ')} cannot go with --in-process, which runs one round in this process`);
  const nodes = Number(arg(args, 'nodes', '100'));
  const tasks = Number(arg(args, 'tasks', '10000'));
  const rounds = Number(arg(args, 'rounds', '3'));
  const roundTimeoutS = Number(arg(args, 'round-timeout-s', '600'));
  // A malformed count would run an empty cluster (NaN makes no nodes) and report it as a figure.
  for (const [name, v] of [['nodes', nodes], ['tasks', tasks], ['rounds', rounds], ['round-timeout-s', roundTimeoutS]] as const) {
    if (!Number.isSafeInteger(v) || v < 1) throw new Error(`scale-control: --${name} must be a positive integer, got ${arg(args, name, '')}`);
  }
  if (!args.includes('--in-process')) {
    const report = await controlRounds({ nodes, tasks, rounds, roundTimeoutS, signal: ctx?.signal });
    const f = report.failover as Record<string, unknown>;
    console.log(`scale-control: ${report.rounds} rounds, ${report.rounds_failed} failed: CPU ${report.cpu_ms} ms (${report.cpu_ms_min}–${report.cpu_ms_max}), wall ${report.wall_ms} ms, longest loop block ${report.loop_block_max_ms} ms; new leader's passes ${f.cpu_ms} ms CPU (load ${JSON.stringify(report.load)})`);
    console.log(JSON.stringify(report));
    if (ctx?.signal.aborted) throw ctx.signal.reason;
    return;
  }
  // One round, in this process (what each round's child runs).
  const r = await controlPlane(nodes, tasks);
  console.log(`scale-control: ${r.tasks} tasks running on ${r.nodes} nodes: ${r.cpu_ms} ms CPU, ${r.wall_ms} ms wall, longest loop block ${r.loop_block_max_ms} ms (load ${JSON.stringify(r.load)})`);
  const f = r.failover as Record<string, number>;
  console.log(`scale-control: a new leader's first passes: ${f.cpu_ms} ms CPU, ${f.wall_ms} ms wall, longest loop block ${f.loop_block_max_ms} ms, ${f.entries} entries`);
  console.log(JSON.stringify(r));
}
