/**
 * `npm run bench -- raft [--seconds 3] [--runs 5] [--no-etcd] [--no-raft] [--keep] [--tick-ms 50] [--election-tick 10]`
 *
 * raft-ts against etcd 3.4 on the same box in the same run: three members each (separate
 * processes, 127.0.0.1), the same load generator (`raft-load.ts`, etcd's JSON gateway
 * shape), 1 KiB puts by 1, 16 and 64 sequential clients against the leader; then leader
 * failover (SIGKILL of the leader, time to the first put committed through a survivor,
 * median of `--runs`, the killed member restarted between runs). etcd runs with its
 * default timing (heartbeat 100 ms, election 1000 ms). Everything started is killed by
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

const CONCURRENCY = [1, 16, 64];

async function measure(c: BenchCluster, seconds: number, runs: number): Promise<{ load: LoadResult[]; failover: (number | null)[] }> {
  await c.start();
  const leader = await findLeader(c);
  const load: LoadResult[] = [];
  for (const conc of CONCURRENCY) {
    const r = await runLoad(c.clientUrl(leader), { conc, seconds });
    console.log(`${c.name.padEnd(8)} c=${String(conc).padStart(2)}  ${String(r.writesPerSec).padStart(6)} writes/s  p50 ${r.p50ms.toFixed(2)} ms  p99 ${r.p99ms.toFixed(2)} ms  (n=${r.n}, errors ${r.errs})`);
    load.push(r);
  }
  const failover: (number | null)[] = [];
  for (let i = 0; i < runs; i++) {
    const f = await measureFailover(c, i);
    console.log(`${c.name.padEnd(8)} failover run ${i}: killed member ${f.killed}, first put after ${f.ms} ms`);
    failover.push(f.ms);
  }
  return { load, failover };
}

export async function run(args: string[]): Promise<void> {
  const { values: a } = parseArgs({
    args,
    options: {
      seconds: { type: 'string', default: '3' }, runs: { type: 'string', default: '5' }, 'no-etcd': { type: 'boolean', default: false }, 'no-raft': { type: 'boolean', default: false },
      'tick-ms': { type: 'string' }, 'election-tick': { type: 'string' }, keep: { type: 'boolean', default: false },
    },
  });
  const seconds = Number(a.seconds);
  const runs = Number(a.runs);
  const dir = mkdtempSync(join(tmpdir(), 'shoal-bench-raft-'));
  const procs = new Procs();
  try {
    const raft = a['no-raft'] ? { load: [], failover: [] } : await measure(new RaftCluster(procs, join(dir, 'raft'), {
      ...(a['tick-ms'] ? { tickMs: Number(a['tick-ms']) } : {}),
      ...(a['election-tick'] ? { electionTick: Number(a['election-tick']) } : {}),
    }), seconds, runs);
    await procs.killAll();
    const etcd = a['no-etcd'] ? undefined : await measure(new EtcdCluster(procs, join(dir, 'etcd'), { heartbeatMs: 100, electionMs: 1000 }), seconds, runs);
    await procs.killAll();

    const out: Record<string, unknown> = {};
    const ratio = (x: number | null | undefined, y: number | null | undefined) => (x != null && y ? +(x / y).toFixed(2) : null);
    raft.load.forEach((r) => {
      out[`writes_per_s_c${r.conc}`] = r.writesPerSec;
      out[`p50_ms_c${r.conc}`] = r.p50ms;
      out[`p99_ms_c${r.conc}`] = r.p99ms;
    });
    etcd?.load.forEach((r) => {
      out[`etcd_writes_per_s_c${r.conc}`] = r.writesPerSec;
      out[`etcd_p50_ms_c${r.conc}`] = r.p50ms;
      out[`etcd_p99_ms_c${r.conc}`] = r.p99ms;
    });
    out.failover_ms = median(raft.failover);
    out.failover_runs_ms = raft.failover;
    if (etcd) {
      out.etcd_failover_ms = median(etcd.failover);
      out.etcd_failover_runs_ms = etcd.failover;
      for (const c of CONCURRENCY) out[`ratio_writes_c${c}`] = ratio(out[`writes_per_s_c${c}`] as number, out[`etcd_writes_per_s_c${c}`] as number);
      out.ratio_p99_c1 = ratio(out.p99_ms_c1 as number, out.etcd_p99_ms_c1 as number);
      out.ratio_failover = ratio(out.failover_ms as number, out.etcd_failover_ms as number);
    }
    out.seconds_per_level = seconds;
    console.log(JSON.stringify(out));
  } finally {
    await procs.killAll();
    if (!a.keep) rmSync(dir, { recursive: true, force: true });
    else console.error(`bench: kept ${dir}`);
  }
}
