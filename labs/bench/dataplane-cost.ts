/**
 * What a stretch of the data plane's work cost, beside its wall time (the lab's 2 cores
 * are shared, so wall time is noisy; CPU and process counts are not): this process's CPU
 * plus that of its children and everything they reaped (the pooled shells reap the
 * `ip`/`nft` they run, so their `cutime`/`cstime` hold them), and the processes forked
 * on the whole machine meanwhile (`processes` of /proc/stat: an upper bound, others' work
 * included).
 */
import { readFileSync, readdirSync } from 'node:fs';

/** Clock ticks a second (Linux: 100). */
const HZ = 100;

/** A point to measure from: `cost(mark)` later gives what was spent since. */
export interface CostMark { ownUs: number; children: Map<number, number>; forks: number }

/** CPU ms of `pid` and of the children it reaped; undefined when it is gone. */
function treeTicksMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 1000) / HZ;
  } catch {
    return undefined;
  }
}

/** This process's live children (every thread's). */
function children(): number[] {
  const out = new Set<number>();
  for (const t of readdirSync('/proc/self/task')) {
    try {
      for (const p of readFileSync(`/proc/self/task/${t}/children`, 'utf8').trim().split(/\s+/)) if (p) out.add(Number(p));
    } catch { /* the thread ended */ }
  }
  return [...out];
}

/** A process's command line, short (DP_COST_BY's breakdown). */
function comm(pid: number): string {
  try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, 2).join(' ').slice(-40); } catch { return '?'; }
}

function forks(): number {
  return Number(/^processes (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1] ?? NaN);
}

/** Where the counters stand now. */
export function costMark(): CostMark {
  const u = process.cpuUsage();
  return { ownUs: u.user + u.system, children: new Map(children().map((p) => [p, treeTicksMs(p) ?? 0])), forks: forks() };
}

/**
 * Spent since `m`: `cpu_ms` (ours, ms), `child_cpu_ms` (children that lived through it and
 * what they reaped, in 10 ms ticks; one started meanwhile counts whole), `forks`.
 */
export function costSince(m: CostMark): { cpu_ms: number; child_cpu_ms: number; forks: number } {
  const u = process.cpuUsage();
  let child = 0;
  const by: Record<string, number> = {};
  for (const p of children()) {
    const d = (treeTicksMs(p) ?? 0) - (m.children.get(p) ?? 0);
    child += d;
    if (process.env.DP_COST_BY && d) { const c = comm(p); by[c] = (by[c] ?? 0) + d; }
  }
  if (process.env.DP_COST_BY) console.log(`  child cpu by command: ${JSON.stringify(by)}`);
  return { cpu_ms: (u.user + u.system - m.ownUs) / 1000, child_cpu_ms: child, forks: forks() - m.forks };
}
