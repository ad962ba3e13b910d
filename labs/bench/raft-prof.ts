/**
 * Development aid: CPU profiles, or allocation samples, of a raft-ts cluster's members under load.
 *
 *   node --import tsx labs/bench/raft-prof.ts [CLIENTS=1] [OUT_DIR=/tmp/raft-prof]
 *   node --import tsx labs/bench/raft-prof.ts --alloc [CLIENTS=1]
 *
 * starts three members with the raft benchmark's like-for-like timing, runs CLIENTS
 * sequential clients against the leader for 5 s. Default: the members run with `--cpu-prof`
 * and are stopped with SIGTERM (a SIGKILL would lose the profiles); open the `.cpuprofile`
 * files in Chrome's DevTools. `--alloc`: the members sample their allocations, garbage
 * included (`RAFT_BENCH_ALLOC_PROF`), and the leader's top call sites by bytes allocated
 * during the load are printed with KiB per write: what feeds the young generation's pauses.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RaftCluster } from './raft-cluster.ts';
import { findLeader, post, runLoad } from './raft-load.ts';
import { Procs } from './raft-procs.ts';
import { TIMING } from './raft.ts';

const alloc = process.argv[2] === '--alloc';
const rest = process.argv.slice(alloc ? 3 : 2);
const conc = Number(rest[0] ?? 1);
const out = rest[1] ?? '/tmp/raft-prof';
const dir = mkdtempSync(join(tmpdir(), 'shoal-bench-raftprof-'));
const procs = new Procs();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
try {
  if (!alloc) process.env.RAFT_BENCH_NODE_ARGS = `--cpu-prof --cpu-prof-dir=${out}`; // the member's node flags, read at launch
  const c = new RaftCluster(procs, join(dir, 'raft'), { tickMs: TIMING.same.tick_ms, electionTick: TIMING.same.election_tick, name: 'raft', ...(alloc ? { env: { RAFT_BENCH_ALLOC_PROF: '1' } } : {}) });
  await c.start();
  const leader = await findLeader(c);
  if (alloc) await post(c.clientUrl(leader), '/debug/alloc', {}); // start a clean window
  const r = await runLoad(c.clientUrl(leader), { conc, seconds: 5 });
  if (alloc) {
    const a = (await post(c.clientUrl(leader), '/debug/alloc', {}, 10_000)) as { top: { fn: string; at: string; kib: number }[] };
    const writes = r.n + 20;
    const total = a.top.reduce((s, x) => s + x.kib, 0);
    console.log(`leader m${leader}: ${r.writesPerSec} writes/s; top sites ${total} KiB sampled over ${writes} writes (${(total / writes).toFixed(1)} KiB/write)`);
    for (const x of a.top) console.log(`  ${(x.kib / writes).toFixed(2).padStart(6)} KiB/write  ${x.fn}  ${x.at}`);
  } else {
    console.log(`leader m${leader}: ${r.writesPerSec} writes/s, p50 ${r.p50ms} ms, p99 ${r.p99ms} ms; profiles in ${out}`);
    // SIGTERM our own members (their command lines name our temp dir): they stop and write the profile.
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)) process.kill(Number(pid), 'SIGTERM');
      } catch { /* gone */ }
    }
    await sleep(3000);
  }
} finally {
  await procs.killAll();
  rmSync(dir, { recursive: true, force: true });
}
