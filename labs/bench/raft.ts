/**
 * `npm run bench -- raft [--seconds 3] [--c1-seconds 9] [--slices 3] [--rounds 3] [--runs 5]
 *                        [--conc 1,16,64] [--no-etcd] [--no-defaults] [--no-failover] [--keep]`
 *
 * raft-ts against etcd 3.4 (Debian's etcd-server) on the same box in the same run: three
 * members each, as separate processes on 127.0.0.1, both clusters up at once; the same
 * load generator (`raft-load.ts`, etcd's JSON gateway shape) puts 1 KiB values from 1, 16
 * and 64 sequential clients against the leader. The two systems take turns, level by
 * level, for `--rounds` rounds (medians over the rounds are reported), so a noisy neighbour on
 * the box hits both alike. One client, whose p99 is the figure to watch, gets `--c1-seconds`
 * per round (three times the others by default: a 3 s round leaves its p99 to a couple of
 * dozen puts), and in each round the sides take turns in `--slices` slices of it (order
 * alternating), the round's figures pooling its slices: load drifting over seconds on a
 * shared box then falls on every side alike instead of on whichever ran in that stretch.
 * (More clients run each round in one piece: a slice's ramp and drain would cost them a
 * share of their throughput.) The JSON also pools every round's puts per side
 * (`p99_ms_cN_pooled`), beside the medians. Then leader failover, alternating too: SIGKILL of the leader,
 * time to the first put committed through a survivor (median of `--runs`; the killed
 * member is restarted between runs). etcd runs with its defaults (heartbeat 100 ms,
 * election 1000 ms). raft-ts runs twice (issue 20): like for like (tick 20 ms: heartbeat
 * 100 ms, election 1000 ms, as etcd; the un-suffixed keys) and as shipped (RaftNode's
 * defaults, tick 10 ms: heartbeat 50 ms, election 500 ms; the `_defaults` keys, skipped
 * with `--no-defaults`); etcd's defaults are the common setting, so its `_defaults`
 * figures are its like-for-like ones. Members talk mutual TLS on both sides, clients
 * plain HTTP on both. Each figure is the median of at least 3 rounds with min and max;
 * a failed round or failover is reported, never dropped; the switches (RAFT_BENCH_*) and
 * etcd's version are in the JSON, and so are the V8 flags the members run with
 * (`member_node_args`). With `RAFT_BENCH_TRACE=1` each raft-ts round is also traced per
 * stage on every member (`raft-trace.ts`): the median round's trace is `trace_cN` (leader:
 * propose → sent → own fdatasync / first ack → applied; followers: receive → ack; every
 * member: save, GC pauses, event-loop delay). Everything started is killed by PID in `finally`.
 * Prints a table and ends with one JSON line.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EtcdCluster } from './raft-etcd.ts';
import { MEMBER_NODE_ARGS, RaftCluster } from './raft-cluster.ts';
import {
  benchValue, findLeader, loadResult, loadSlice, measureFailover, newTally, post, quantile, warmUp,
  type BenchCluster, type LoadResult, type LoadTally,
} from './raft-load.ts';
import { figureFields, flag, flagAtLeast, median, orderFor, ratio, summary } from './fair.ts';
import { Procs } from './raft-procs.ts';

/** The sides of a raft run: raft-ts like for like, raft-ts as shipped, etcd (its defaults are the common setting). */
export type RaftSide = 'raft-ts' | 'raft-ts-defaults' | 'etcd';

/** One side's rounds: load results per client count (failed rounds as errors), failover times (null: no put within 20 s). */
export interface RaftFigures {
  load: Map<number, LoadResult[]>;
  loadFailed: Map<number, string[]>;
  failover: (number | null)[];
  failoverFailed: string[];
  /** RAFT_BENCH_TRACE: each member's stage trace (`raft-trace.ts`) over a load round. */
  trace?: Map<LoadResult, unknown[]>;
}

/** The raft timing each side runs with. */
export const TIMING = {
  same: { tick_ms: 20, election_tick: 50, heartbeat_tick: 5, heartbeat_ms: 100, election_timeout_ms: 1000 },
  raft_ts_defaults: { tick_ms: 10, election_tick: 50, heartbeat_tick: 5, heartbeat_ms: 50, election_timeout_ms: 500 },
  etcd: { heartbeat_ms: 100, election_timeout_ms: 1000 },
};

/** The environment switches the members read, as set for this run (recorded so a figure is never read without them). */
export function switches(env: NodeJS.ProcessEnv = process.env): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const k of ['RAFT_BENCH_FSYNC', 'RAFT_BENCH_PEER_DOWN_SPEEDUP', 'RAFT_BENCH_NODE_ARGS', 'RAFT_BENCH_TRACE', 'RAFT_BENCH_ALLOC_PROF', 'RAFT_BENCH_DEBUG']) out[k] = env[k] ?? null;
  return out;
}

function medianRound(rs: LoadResult[]): LoadResult {
  return [...rs].sort((a, b) => a.writesPerSec - b.writesPerSec)[Math.floor((rs.length - 1) / 2)];
}

/**
 * The JSON line from each side's figures (a side absent: it did not run). Keys as issue 20
 * reads them: `writes_per_s_cN`, `p99_ms_cN`… like for like, each with an `etcd_` twin and
 * a `_defaults` twin; min/max/runs beside each. Pure.
 */
export function raftReport(f: Partial<Record<RaftSide, RaftFigures>>, meta: {
  rounds: number; seconds: number; levels: number[]; etcdVersion?: string; env?: NodeJS.ProcessEnv;
  /** Seconds per round at a level other than `seconds` (default none). */
  secondsByLevel?: Record<number, number>;
  /** Slices per round at a level, where not 1 (default none: each side's round in one piece). */
  slicesByLevel?: Record<number, number>;
}): Record<string, unknown> {
  const sw = switches(meta.env ?? {});
  const slicesAt = (c: number) => meta.slicesByLevel?.[c] ?? 1;
  const out: Record<string, unknown> = {
    bench: 'raft', rounds: meta.rounds, seconds_per_level: meta.seconds,
    seconds_by_level: Object.fromEntries(meta.levels.map((c) => [c, meta.secondsByLevel?.[c] ?? meta.seconds])),
    slices_by_level: Object.fromEntries(meta.levels.map((c) => [c, slicesAt(c)])),
    order: meta.levels.some((c) => slicesAt(c) > 1)
      ? 'rounds alternate which side goes first; where slices_by_level > 1 the sides take turns in that many slices per round (order alternating) and the round\'s figures pool its slices'
      : 'rounds alternate which side goes first',
    etcd_ran: !!f.etcd, peer: f.etcd ? `etcd ${meta.etcdVersion ?? 'unknown version'} (Debian etcd-server)` : 'peer did not run',
    timing: TIMING, switches: sw, member_node_args: MEMBER_NODE_ARGS.join(' '),
    fsync: { 'raft-ts': sw.RAFT_BENCH_FSYNC !== '0', etcd: true },
    fsync_same: sw.RAFT_BENCH_FSYNC !== '0',
    tls: { peers: 'mutual TLS on both sides', clients: 'plain HTTP on both sides' },
    etcd_same_is_defaults: true,
  };
  const put = (side: RaftSide, prefix: string, suffix: string) => {
    const s = f[side];
    if (!s) return;
    for (const c of meta.levels) {
      const rs = s.load.get(c) ?? [];
      const m = rs.length ? medianRound(rs) : undefined;
      out[`${prefix}writes_per_s_c${c}${suffix}`] = m?.writesPerSec ?? null;
      // Latencies are medians over the rounds (what the targets read, issue 20), not the
      // median-throughput round's own, which may be any round's.
      out[`${prefix}p50_ms_c${c}${suffix}`] = median(rs.map((r) => r.p50ms));
      for (const [k, vs] of [['writes_per_s', rs.map((r) => r.writesPerSec)], ['p99_ms', rs.map((r) => r.p99ms)]] as const) {
        const sm = summary(vs);
        if (k === 'p99_ms') out[`${prefix}p99_ms_c${c}${suffix}`] = sm.median;
        out[`${prefix}${k}_c${c}${suffix}_min`] = sm.min;
        out[`${prefix}${k}_c${c}${suffix}_max`] = sm.max;
      }
      out[`${prefix}runs_c${c}${suffix}`] = rs.length;
      // Every round's puts pooled: the steadiest tail figure (the same for both sides).
      const pooled = rs.every((r) => r.lat) ? rs.flatMap((r) => r.lat!).sort((x, y) => x - y) : [];
      out[`${prefix}p99_ms_c${c}${suffix}_pooled`] = pooled.length ? quantile(pooled, 0.99) : null;
      // The median round's stage trace, every member's (RAFT_BENCH_TRACE).
      const tr = m && s.trace?.get(m);
      if (tr) out[`${prefix}trace_c${c}${suffix}`] = tr;
      const failed = s.loadFailed.get(c) ?? [];
      if (failed.length) out[`${prefix}failed_c${c}${suffix}`] = failed;
    }
    const ok = s.failover.filter((x): x is number => x !== null);
    const failed = [...s.failover.flatMap((x, i) => (x === null ? [`run ${i + 1}: no put committed within 20 s`] : [])), ...s.failoverFailed];
    Object.assign(out, figureFields(`${prefix}failover_ms${suffix}`, summary(ok, failed)));
    out[`${prefix}failover_runs_ms${suffix}`] = s.failover;
  };
  put('raft-ts', '', '');
  put('raft-ts-defaults', '', '_defaults');
  put('etcd', 'etcd_', '');
  put('etcd', 'etcd_', '_defaults');
  const num = (k: string) => (typeof out[k] === 'number' ? (out[k] as number) : null);
  for (const sfx of ['', '_defaults']) {
    if (!f[sfx ? 'raft-ts-defaults' : 'raft-ts']) continue;
    for (const c of meta.levels) {
      out[`ratio_writes_c${c}${sfx}`] = ratio(num(`writes_per_s_c${c}${sfx}`), num(`etcd_writes_per_s_c${c}${sfx}`));
      out[`target_writes_c${c}${sfx}`] = flagAtLeast(num(`writes_per_s_c${c}${sfx}`), num(`etcd_writes_per_s_c${c}${sfx}`), 1.2);
    }
    out[`ratio_p99_c1${sfx}`] = ratio(num(`p99_ms_c1${sfx}`), num(`etcd_p99_ms_c1${sfx}`));
    out[`target_p99_c1${sfx}`] = flag(num(`p99_ms_c1${sfx}`), num(`etcd_p99_ms_c1${sfx}`), 1);
    out[`ratio_failover${sfx}`] = ratio(num(`failover_ms${sfx}`), num(`etcd_failover_ms${sfx}`));
  }
  // A target read with fsync off on one side only is no comparison.
  if (!out.fsync_same) for (const k of Object.keys(out)) if (k.startsWith('target_') && out[k] === 'met') out[k] = 'not like for like (RAFT_BENCH_FSYNC=0)';
  return out;
}

function show(name: string, r: LoadResult): void {
  console.log(`${name.padEnd(16)} c=${String(r.conc).padStart(2)}  ${String(r.writesPerSec).padStart(6)} writes/s  p50 ${r.p50ms.toFixed(2)} ms  p99 ${r.p99ms.toFixed(2)} ms  (n=${r.n}, errors ${r.errs})`);
}

/** Every member's stage trace since the last read (a member that does not answer: its error). */
function traces(c: BenchCluster): Promise<unknown[]> {
  return Promise.all([0, 1, 2].map((i) => post(c.clientUrl(i), '/debug/trace', {}).catch((err: unknown) => ({ error: errText(err) }))));
}

const errText = (err: unknown) => String((err as Error)?.message ?? err).slice(0, 300);

export async function run(args: string[]): Promise<void> {
  const { values: a } = parseArgs({
    args,
    options: {
      seconds: { type: 'string', default: '3' }, rounds: { type: 'string', default: '3' }, runs: { type: 'string', default: '5' },
      'c1-seconds': { type: 'string', default: '9' }, slices: { type: 'string', default: '3' },
      conc: { type: 'string', default: '1,16,64' }, 'no-etcd': { type: 'boolean', default: false },
      'no-defaults': { type: 'boolean', default: false }, keep: { type: 'boolean', default: false },
      'no-failover': { type: 'boolean', default: false },
    },
  });
  const seconds = Number(a.seconds);
  const c1Seconds = Number(a['c1-seconds']);
  const slices = Number(a.slices);
  for (const [k, v] of [['--seconds', seconds], ['--c1-seconds', c1Seconds]] as const) if (!(v > 0)) throw new Error(`bench: ${k} must be a positive number of seconds`);
  if (!Number.isInteger(slices) || slices < 1) throw new Error(`bench: --slices must be a whole number ≥ 1, got ${a.slices}`);
  const secondsAt = (conc: number) => (conc === 1 ? c1Seconds : seconds);
  const slicesAt = (conc: number) => (conc === 1 ? slices : 1);
  // Fewer than 3 rounds (or runs) would not give a median worth the name: raised to 3.
  const wholeAtLeast3 = (flag: string, v: string | undefined) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`bench: ${flag} must be a whole number ≥ 1, got ${v}`);
    return Math.max(3, n);
  };
  const rounds = wholeAtLeast3('--rounds', a.rounds);
  // --no-failover: load levels only (quick A/B of the write path); the failover keys then read null.
  const runs = a['no-failover'] ? 0 : wholeAtLeast3('--runs', a.runs);
  const levels = a.conc ? a.conc.split(',').map(Number) : [];
  // They shape the one-client level only: given without it they would change nothing.
  const oneClientFlags = ['--c1-seconds', '--slices'].filter((f) => args.some((x) => x === f || x.startsWith(`${f}=`)));
  if (oneClientFlags.length && !levels.includes(1)) throw new Error(`bench: ${oneClientFlags.join(' and ')} apply to the one-client level, which --conc ${a.conc} leaves out`);
  const dir = mkdtempSync(join(tmpdir(), 'shoal-bench-raft-'));
  const procs = new Procs();
  try {
    const sides: { side: RaftSide; c: BenchCluster }[] = [
      { side: 'raft-ts', c: new RaftCluster(procs, join(dir, 'raft'), { tickMs: TIMING.same.tick_ms, electionTick: TIMING.same.election_tick, name: 'raft-ts' }) },
    ];
    if (!a['no-defaults']) sides.push({ side: 'raft-ts-defaults', c: new RaftCluster(procs, join(dir, 'raft-defaults'), { name: 'raft-ts-defaults' }) });
    let etcdVersion: string | undefined;
    if (!a['no-etcd']) {
      sides.push({ side: 'etcd', c: new EtcdCluster(procs, join(dir, 'etcd'), { heartbeatMs: TIMING.etcd.heartbeat_ms, electionMs: TIMING.etcd.election_timeout_ms }) });
      etcdVersion = /etcd Version: (\S+)/.exec(execFileSync('/usr/bin/etcd', ['--version'], { encoding: 'utf8' }))?.[1];
    }
    const figures = new Map<RaftSide, RaftFigures>();
    for (const { side, c } of sides) {
      await c.start();
      figures.set(side, { load: new Map(), loadFailed: new Map(), failover: [], failoverFailed: [] });
    }

    for (const conc of levels) {
      for (let round = 0; round < rounds; round++) {
        // Alternate who goes first (per round and per slice), so drift in the box's load does not favour one side.
        const tracing = (side: RaftSide) => !!process.env.RAFT_BENCH_TRACE && side !== 'etcd';
        const inRound = new Map<RaftSide, { url: string; tally: LoadTally; error?: string }>();
        const value = benchValue();
        for (const { side, c } of orderFor(round, sides)) {
          try {
            // A trace window per round: read (and so reset) every member before and after.
            if (tracing(side)) await traces(c);
            const url = c.clientUrl(await findLeader(c));
            await warmUp(url, value);
            inRound.set(side, { url, tally: newTally() });
          } catch (err) {
            inRound.set(side, { url: '', tally: newTally(), error: errText(err) });
          }
        }
        const n = slicesAt(conc);
        for (let k = 0; k < n; k++) {
          for (const { side } of orderFor(round + k, sides)) {
            const st = inRound.get(side)!;
            if (st.error) continue;
            try {
              await loadSlice(st.url, { conc, ms: (secondsAt(conc) * 1000) / n, value }, st.tally);
            } catch (err) {
              st.error = errText(err);
            }
          }
        }
        for (const { side, c } of orderFor(round, sides)) {
          const f = figures.get(side)!;
          const st = inRound.get(side)!;
          if (st.error) {
            f.loadFailed.set(conc, [...(f.loadFailed.get(conc) ?? []), `round ${round + 1}: ${st.error}`]);
            continue;
          }
          const r = loadResult(conc, st.tally);
          f.load.set(conc, [...(f.load.get(conc) ?? []), r]);
          if (tracing(side)) (f.trace ??= new Map()).set(r, await traces(c));
        }
      }
      for (const { side, c } of sides) {
        const rs = figures.get(side)!.load.get(conc);
        if (rs?.length) show(c.name, medianRound(rs));
      }
    }
    for (let i = 0; i < runs; i++) {
      for (const { side, c } of orderFor(i, sides)) {
        try {
          const f = await measureFailover(c, i);
          console.log(`${c.name.padEnd(16)} failover run ${i}: killed member ${f.killed}, first put after ${f.ms} ms`);
          figures.get(side)!.failover.push(f.ms);
        } catch (err) {
          figures.get(side)!.failoverFailed.push(`run ${i + 1}: ${errText(err)}`);
        }
      }
    }
    console.log(JSON.stringify(raftReport(Object.fromEntries(figures), { rounds, seconds, levels, etcdVersion, env: process.env, secondsByLevel: { 1: c1Seconds }, slicesByLevel: { 1: slices } })));
  } finally {
    await procs.killAll();
    if (!a.keep) rmSync(dir, { recursive: true, force: true });
    else console.error(`bench: kept ${dir}`);
  }
}
