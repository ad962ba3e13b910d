/**
 * `npm run bench -- raft [--seconds 3] [--rounds 2] [--runs 5] [--conc 1,16,64]
 *                        [--no-etcd] [--tick-ms N] [--election-tick N] [--keep]`
 *
 * raft-ts against etcd 3.4 (Debian's etcd-server) on the same box in the same run: three
 * members each, as separate processes on 127.0.0.1, both clusters up at once; the same
 * load generator (`raft-load.ts`, etcd's JSON gateway shape) puts 1 KiB values from 1, 16
 * and 64 sequential clients against the leader. The two systems take turns, level by
 * level, for `--rounds` rounds (the median round is reported), so a noisy neighbour on
 * the box hits both alike. Then leader failover, alternating too: SIGKILL of the leader,
 * time to the first put committed through a survivor (median of `--runs`; the killed
 * member is restarted between runs). etcd runs with its defaults (heartbeat 100 ms,
 * election 1000 ms); raft-ts with RaftNode's defaults. Everything started is killed by
 * PID in `finally`. Prints a table and ends with one JSON line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EtcdCluster } from './raft-etcd.ts';
import { RaftCluster } from './raft-cluster.ts';
import { findLeader, measureFailover, median, runLoad, type BenchCluster, type LoadResult } from './raft-load.ts';
import { Procs } from './raft-procs.ts';

interface Figures {
  load: Map<number, LoadResult[]>;
  failover: (number | null)[];
}

function medianRound(rs: LoadResult[]): LoadResult {
  return [...rs].sort((a, b) => a.writesPerSec - b.writesPerSec)[Math.floor((rs.length - 1) / 2)];
}

function show(name: string, r: LoadResult): void {
  console.log(`${name.padEnd(8)} c=${String(r.conc).padStart(2)}  ${String(r.writesPerSec).padStart(6)} writes/s  p50 ${r.p50ms.toFixed(2)} ms  p99 ${r.p99ms.toFixed(2)} ms  (n=${r.n}, errors ${r.errs})`);
}

export async function run(args: string[]): Promise<void> {
  const { values: a } = parseArgs({
    args,
    options: {
      seconds: { type: 'string', default: '3' }, rounds: { type: 'string', default: '2' }, runs: { type: 'string', default: '5' },
      conc: { type: 'string', default: '1,16,64' }, 'no-etcd': { type: 'boolean', default: false },
      'tick-ms': { type: 'string' }, 'election-tick': { type: 'string' }, keep: { type: 'boolean', default: false },
    },
  });
  const seconds = Number(a.seconds);
  const rounds = Number(a.rounds);
  const runs = Number(a.runs);
  const levels = a.conc ? a.conc.split(',').map(Number) : [];
  const dir = mkdtempSync(join(tmpdir(), 'shoal-bench-raft-'));
  const procs = new Procs();
  try {
    const clusters: BenchCluster[] = [new RaftCluster(procs, join(dir, 'raft'), {
      ...(a['tick-ms'] ? { tickMs: Number(a['tick-ms']) } : {}),
      ...(a['election-tick'] ? { electionTick: Number(a['election-tick']) } : {}),
    })];
    if (!a['no-etcd']) clusters.push(new EtcdCluster(procs, join(dir, 'etcd'), { heartbeatMs: 100, electionMs: 1000 }));
    const figures = new Map<BenchCluster, Figures>();
    for (const c of clusters) {
      await c.start();
      figures.set(c, { load: new Map(), failover: [] });
    }

    for (const conc of levels) {
      for (let round = 0; round < rounds; round++) {
        // Alternate who goes first, so drift in the box's load does not favour one side.
        const order = round % 2 === 0 ? clusters : [...clusters].reverse();
        for (const c of order) {
          const r = await runLoad(c.clientUrl(await findLeader(c)), { conc, seconds });
          const f = figures.get(c)!;
          f.load.set(conc, [...(f.load.get(conc) ?? []), r]);
        }
      }
      for (const c of clusters) show(c.name, medianRound(figures.get(c)!.load.get(conc)!));
    }
    for (let i = 0; i < runs; i++) {
      for (const c of i % 2 === 0 ? clusters : [...clusters].reverse()) {
        const f = await measureFailover(c, i);
        console.log(`${c.name.padEnd(8)} failover run ${i}: killed member ${f.killed}, first put after ${f.ms} ms`);
        figures.get(c)!.failover.push(f.ms);
      }
    }

    const out: Record<string, unknown> = {};
    const put = (prefix: string, f: Figures) => {
      for (const [conc, rs] of f.load) {
        const r = medianRound(rs);
        out[`${prefix}writes_per_s_c${conc}`] = r.writesPerSec;
        out[`${prefix}p50_ms_c${conc}`] = r.p50ms;
        out[`${prefix}p99_ms_c${conc}`] = r.p99ms;
      }
      out[`${prefix}failover_ms`] = median(f.failover);
      out[`${prefix}failover_runs_ms`] = f.failover;
    };
    put('', figures.get(clusters[0])!);
    if (clusters[1]) {
      put('etcd_', figures.get(clusters[1])!);
      const ratio = (x: unknown, y: unknown) => (typeof x === 'number' && typeof y === 'number' && y > 0 ? +(x / y).toFixed(2) : null);
      for (const c of levels) out[`ratio_writes_c${c}`] = ratio(out[`writes_per_s_c${c}`], out[`etcd_writes_per_s_c${c}`]);
      out.ratio_p99_c1 = ratio(out.p99_ms_c1, out.etcd_p99_ms_c1);
      out.ratio_failover = ratio(out.failover_ms, out.etcd_failover_ms);
    }
    out.seconds_per_level = seconds;
    out.rounds = rounds;
    console.log(JSON.stringify(out));
  } finally {
    await procs.killAll();
    if (!a.keep) rmSync(dir, { recursive: true, force: true });
    else console.error(`bench: kept ${dir}`);
  }
}
