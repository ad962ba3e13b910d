/**
 * A/B of raft-ts member variants against etcd in one run (development aid for the raft
 * benchmark, not a published figure):
 *
 *   node --import tsx labs/bench/raft-ab.ts [--conc 1,16] [--rounds 5] [--seconds 3]
 *        [--slices N] [--no-etcd] name[=ENV=VAL[;ENV=VAL…]] …
 *
 * starts one 3-member raft-ts cluster per variant (a name with no environment is this
 * checkout's member; `RAFT_BENCH_MEMBER=/other/checkout/labs/bench/raft-member.ts` runs a
 * member from another checkout, e.g. the last commit, for a before/after) and one etcd, all
 * with the like-for-like timing of `raft.ts`. Without `--slices`: every level in rounds of
 * `--seconds`, rotating which side goes first; each side's median writes/s and p99 with min
 * and max. With `--slices N` (for a busy shared box): each side gets N slices of
 * `seconds`/N in turn, so load drifting over seconds hits every side alike; the order
 * rotates by one side per slice, so N must be a multiple of the number of sides (each
 * side then goes first, and in every other place, equally often); latencies are
 * pooled per side, failed puts counted beside them (`failed`), with the members' CPU ms,
 * context switches (voluntary / involuntary, all threads) and run delay (ms runnable but
 * waiting for a CPU; all threads, and the main threads alone, where a Node member runs all
 * its JavaScript) per write.
 * The load average is printed per level. Each side's idle CPU (ms per s with no load, over
 * `--idle` s, before the levels) is printed too, and the sliced figures
 * add CPU per write net of it: at a few dozen writes/s on a busy box, idle ticks and
 * heartbeats are a large share of the gross figure. Two keys of a variant's environment are
 * the cluster's own settings, not the members' environment: `TICK_MS`, `ELECTION_TICK` and
 * `HEARTBEAT_TICK` (default the like-for-like timing of `raft.ts`), so a tick length can be
 * A/B'd in one run (`t20=TICK_MS=20;ELECTION_TICK=50;HEARTBEAT_TICK=5 t10`).
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { EtcdCluster } from './raft-etcd.ts';
import { median } from './fair.ts';
import { RaftCluster } from './raft-cluster.ts';
import { benchValue, findLeader, loadSlice, newTally, runLoad, warmUp, type BenchCluster, type LoadResult, type LoadTally } from './raft-load.ts';
import { Procs } from './raft-procs.ts';
import { TIMING } from './raft.ts';

/**
 * The order the sides load in slice `slice` of a level: rotated by one side per slice, so
 * over a multiple of `sides.length` slices every side takes every place (first included)
 * equally often. A reversal would leave the middle of three sides never first.
 */
export function sliceOrder<T>(slice: number, sides: readonly T[]): T[] {
  const k = slice % sides.length;
  return [...sides.slice(k), ...sides.slice(0, k)];
}

/** Refuses a `--slices` count that would not give every one of `sides` sides each place equally often (0: no slicing). */
export function checkSlices(slices: number, sides: number): void {
  if (!Number.isInteger(slices) || slices < 0) throw new Error(`bench: --slices must be a whole number, got ${slices}`);
  if (slices % sides !== 0) throw new Error(`bench: --slices ${slices} would let some of the ${sides} sides go first more often; give a multiple of ${sides}`);
}

/** A side's members' counters, read before and after each of its slices (CPU ms; switches: voluntary, involuntary, run delay ms, main threads' run delay ms). */
export interface Reading {
  cpuMs: number;
  switches: [number, number, number, number];
}

/** One side's slices of a level: its puts (latencies and failures) and what its members spent on them. */
export interface SideSlices {
  tally: LoadTally;
  cpuMs: number;
  switches: [number, number, number, number];
}

/**
 * One level in slices: `slices` times, every side in `sliceOrder` runs `conc` clients
 * for `seconds`/`slices` s against `url` (raft-load.ts's `loadSlice`: a failed put is
 * counted in the tally's `errs`, never dropped), `read(name)` taken around each of its
 * slices.
 */
export async function slicedLevel(
  sides: readonly { name: string; url: string }[],
  opts: { conc: number; slices: number; seconds: number; value: string; read: (name: string) => Reading },
): Promise<Map<string, SideSlices>> {
  const out = new Map<string, SideSlices>(sides.map((c) => [c.name, { tally: newTally(), cpuMs: 0, switches: [0, 0, 0, 0] }]));
  for (let k = 0; k < opts.slices; k++) {
    for (const c of sliceOrder(k, sides)) {
      const s = out.get(c.name)!;
      const r0 = opts.read(c.name);
      await loadSlice(c.url, { conc: opts.conc, ms: (opts.seconds * 1000) / opts.slices, value: opts.value }, s.tally);
      const r1 = opts.read(c.name);
      s.cpuMs += r1.cpuMs - r0.cpuMs;
      for (let i = 0; i < 4; i++) s.switches[i] += r1.switches[i] - r0.switches[i];
    }
  }
  return out;
}

/** The printed line of one side's slices: writes/s, quantiles, per-write costs (CPU net of `idleCpuPerS` ms/s when given), `n` puts and the `failed` ones. */
export function slicedLine(name: string, s: SideSlices, idleCpuPerS?: number): string {
  const l = [...s.tally.lat].sort((x, y) => x - y);
  const n = l.length;
  const q = (p: number) => l[Math.min(n - 1, Math.floor(p * n))]?.toFixed(2);
  const net = idleCpuPerS !== undefined ? `  net of idle ${((s.cpuMs - (idleCpuPerS * s.tally.ms) / 1000) / n).toFixed(3)}` : '';
  const [v, nv, wait, mainWait] = s.switches;
  return `  ${name.padEnd(10)} writes/s ${Math.round(n / (s.tally.ms / 1000))}  p50 ${q(0.5)}  p90 ${q(0.9)}  p99 ${q(0.99)}  cpu ms/write ${(s.cpuMs / n).toFixed(3)}${net}  switches/write vol ${(v / n).toFixed(1)} invol ${(nv / n).toFixed(1)}  run delay ms/write ${(wait / n).toFixed(3)} (main threads ${(mainWait / n).toFixed(3)})  n ${n} failed ${s.tally.errs}`;
}

const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
/** CPU ms (user + system) used so far by the live processes whose command line names `path`. */
function cpuMs(path: string): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(path)) continue;
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch { /* gone */ }
  }
  return ticks * 10;
}
/**
 * Voluntary and involuntary context switches so far, and ms spent runnable but waiting for a
 * CPU (schedstat's run delay), over every thread of the processes naming `path`. The run
 * delay shows how much of a write's wall time on a busy box is queueing for a CPU.
 */
function switches(path: string): [number, number, number, number] {
  let v = 0;
  let nv = 0;
  let waitNs = 0;
  let mainWaitNs = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(path)) continue;
      for (const t of readdirSync(`/proc/${pid}/task`)) {
        const st = readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8');
        v += Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(st)?.[1] ?? 0);
        nv += Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(st)?.[1] ?? 0);
        try {
          const ns = Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[1] ?? 0);
          waitNs += ns;
          // The thread a Node member runs its event loop on, JavaScript and all (etcd's main
          // thread is just one of the Go runtime's).
          if (t === pid) mainWaitNs += ns;
        } catch { /* no schedstat in this kernel */ }
      }
    } catch { /* gone */ }
  }
  return [v, nv, waitNs / 1e6, mainWaitNs / 1e6];
}

async function main(): Promise<void> {
  const { values: a, positionals } = parseArgs({
    allowPositionals: true,
    options: { slices: { type: 'string', default: '0' }, conc: { type: 'string', default: '1,16,64' }, rounds: { type: 'string', default: '5' }, seconds: { type: 'string', default: '3' }, 'no-etcd': { type: 'boolean', default: false }, idle: { type: 'string', default: '2' } },
  });
  const slices = Number(a.slices);
  checkSlices(slices, Math.max(positionals.length, 1) + (a['no-etcd'] ? 0 : 1));
  const dir = mkdtempSync(join(tmpdir(), 'shoal-bench-raftab-'));
  const procs = new Procs();
  try {
    const sides: BenchCluster[] = (positionals.length ? positionals : ['base']).map((v) => {
      const [name, ...rest] = v.split('=');
      const envText = rest.join('=');
      const env: Record<string, string> = Object.fromEntries(envText ? envText.split(';').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]) : []);
      const { TICK_MS: tick = TIMING.same.tick_ms, ELECTION_TICK: election = TIMING.same.election_tick, HEARTBEAT_TICK: heartbeat = TIMING.same.heartbeat_tick, ...memberEnv } = env;
      const timing = { tickMs: Number(tick), electionTick: Number(election), heartbeatTick: Number(heartbeat) };
      if (!Object.values(timing).every((x) => x > 0)) throw new Error(`bench: ${name}: TICK_MS, ELECTION_TICK and HEARTBEAT_TICK must be positive numbers, got ${tick}, ${election}, ${heartbeat}`);
      return new RaftCluster(procs, join(dir, name), { ...timing, name, env: memberEnv });
    });
    if (!a['no-etcd']) sides.push(new EtcdCluster(procs, join(dir, 'etcd'), { heartbeatMs: TIMING.etcd.heartbeat_ms, electionMs: TIMING.etcd.election_timeout_ms }));
    for (const c of sides) await c.start();
    // Idle CPU per side (ticks, heartbeats, timers), measured for all sides at once.
    const idleCpu = new Map<string, number>();
    const idleS = Number(a.idle);
    if (!(idleS >= 0)) throw new Error(`bench: --idle must be a number of seconds, got ${a.idle}`);
    if (idleS > 0) {
      const dirOf = (c: BenchCluster) => join(dir, c.name) + '/';
      const c0 = new Map(sides.map((c) => [c.name, cpuMs(dirOf(c))]));
      await new Promise((r) => setTimeout(r, idleS * 1000));
      for (const c of sides) idleCpu.set(c.name, (cpuMs(dirOf(c)) - c0.get(c.name)!) / idleS);
      console.log(`idle CPU ms/s (all members, ${idleS} s, load ${load()}): ${sides.map((c) => `${c.name} ${idleCpu.get(c.name)!.toFixed(1)}`).join('  ')}`);
    }
    if (slices > 0) {
      // Fine interleaving: every side gets `slices` slices of `seconds`/`slices` s in turn, so the
      // box's load drifting over seconds hits every side alike; latencies pooled per side.
      const value = benchValue();
      const read = (name: string): Reading => ({ cpuMs: cpuMs(join(dir, name) + '/'), switches: switches(join(dir, name) + '/') });
      for (const conc of a.conc!.split(',').map(Number)) {
        const targets: { name: string; url: string }[] = [];
        for (const c of sides) {
          targets.push({ name: c.name, url: c.clientUrl(await findLeader(c)) });
          await warmUp(targets.at(-1)!.url, value);
        }
        const l0 = load();
        const got = await slicedLevel(targets, { conc, slices, seconds: Number(a.seconds), value, read });
        console.log(`c=${conc} sliced x${slices} load ${l0} → ${load()}`);
        for (const c of sides) console.log(slicedLine(c.name, got.get(c.name)!, idleCpu.get(c.name)));
      }
    }
    for (const conc of slices > 0 ? [] : a.conc!.split(',').map(Number)) {
      const res = new Map<string, LoadResult[]>();
      const cpu = new Map<string, number[]>();
      const loads: string[] = [];
      for (let r = 0; r < Number(a.rounds); r++) {
        loads.push(load());
        for (const c of sliceOrder(r, sides)) {
          try {
            const url = c.clientUrl(await findLeader(c));
            const path = join(dir, c.name);
            const c0 = cpuMs(path + '/');
            const x = await runLoad(url, { conc, seconds: Number(a.seconds) });
            cpu.set(c.name, [...(cpu.get(c.name) ?? []), +((cpuMs(path + '/') - c0) / (x.n + 20)).toFixed(3)]);
            res.set(c.name, [...(res.get(c.name) ?? []), x]);
          } catch (err) {
            console.log(c.name, 'failed', String(err));
          }
        }
      }
      console.log(`c=${conc} load ${loads.join(' | ')}`);
      for (const c of sides) {
        const rs = res.get(c.name) ?? [];
        const w = rs.map((x) => x.writesPerSec);
        const p = rs.map((x) => x.p99ms);
        console.log(`  ${c.name.padEnd(10)} writes/s ${median(w)} [${Math.min(...w)}–${Math.max(...w)}]  p99 ${median(p)} [${Math.min(...p)}–${Math.max(...p)}]  p50 ${median(rs.map((x) => x.p50ms))}  cpu ms/write ${median(cpu.get(c.name) ?? [])}  all ${w.join(',')}  failed puts ${rs.reduce((n, x) => n + x.errs, 0)}`);
      }
    }
  } finally {
    await procs.killAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
