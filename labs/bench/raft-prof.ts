/**
 * Development aid: CPU profiles of a raft-ts cluster's members under load.
 * `node --import tsx labs/bench/raft-prof.ts [CLIENTS=1] [OUT_DIR=/tmp/raft-prof]` starts three
 * members with the raft benchmark's like-for-like timing and `--cpu-prof`, runs CLIENTS
 * sequential clients against the leader for 5 s, then stops the members with SIGTERM (a
 * SIGKILL would lose the profiles) and prints which member led. Open the `.cpuprofile` files
 * in Chrome's DevTools.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RaftCluster } from './raft-cluster.ts';
import { findLeader, runLoad } from './raft-load.ts';
import { Procs } from './raft-procs.ts';
import { TIMING } from './raft.ts';

const conc = Number(process.argv[2] ?? 1);
const out = process.argv[3] ?? '/tmp/raft-prof';
const dir = mkdtempSync(join(tmpdir(), 'shoal-bench-raftprof-'));
const procs = new Procs();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
try {
  process.env.RAFT_BENCH_NODE_ARGS = `--cpu-prof --cpu-prof-dir=${out}`; // the member's node flags, read at launch
  const c = new RaftCluster(procs, join(dir, 'raft'), { tickMs: TIMING.same.tick_ms, electionTick: TIMING.same.election_tick, name: 'raft' });
  await c.start();
  const leader = await findLeader(c);
  const r = await runLoad(c.clientUrl(leader), { conc, seconds: 5 });
  console.log(`leader m${leader}: ${r.writesPerSec} writes/s, p50 ${r.p50ms} ms, p99 ${r.p99ms} ms; profiles in ${out}`);
  // SIGTERM our own members (their command lines name our temp dir): they stop and write the profile.
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)) process.kill(Number(pid), 'SIGTERM');
    } catch { /* gone */ }
  }
  await sleep(3000);
} finally {
  await procs.killAll();
  rmSync(dir, { recursive: true, force: true });
}
