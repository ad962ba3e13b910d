/**
 * The DNS child's priority guard, pure. While quiet, the child's event loop runs at a very
 * high priority (nice −20), so a query's wake-up goes ahead of whatever else is runnable
 * on its CPU (see `dns-process.ts`). A loop that stays busy at that priority (a task
 * flooding the resolver, a huge table) would take nearly a whole CPU from the node's
 * other work, so the daemon samples the loop's CPU time and lowers it to the busy nice
 * value while it is busy, and raises it again once quiet: what a flood can take is then
 * what it took before the high priority.
 */

/** When the guard lowers and raises the loop, as fractions of one CPU over a sample. */
export interface DnsGuardLimits {
  /** High → low when the loop was busier than this. Default 0.5. */
  demoteAbove: number;
  /** Low → high when the loop was less busy than this (below `demoteAbove`, for hysteresis). Default 0.2. */
  promoteBelow: number;
}

export const DNS_GUARD_LIMITS: DnsGuardLimits = { demoteAbove: 0.5, promoteBelow: 0.2 };

/** `high`: the quiet nice value; `low`: the busy one. */
export type DnsPriority = 'high' | 'low';

/** One reading: the thread's CPU time and the clock, both in ns. */
export interface CpuSample {
  cpuNs: number;
  atNs: number;
}

/** The share of one CPU the thread used between two readings (0 when no time passed). */
export function busyFraction(prev: CpuSample, now: CpuSample): number {
  const wall = now.atNs - prev.atNs;
  return wall > 0 ? Math.max(0, now.cpuNs - prev.cpuNs) / wall : 0;
}

/** The priority the loop should have after a sample in which it was `busy` (fraction of one CPU). */
export function nextPriority(current: DnsPriority, busy: number, limits: DnsGuardLimits = DNS_GUARD_LIMITS): DnsPriority {
  if (!(limits.promoteBelow < limits.demoteAbove)) throw new Error(`dns: guard limits want promoteBelow < demoteAbove (got ${limits.promoteBelow}, ${limits.demoteAbove})`);
  if (current === 'high' && busy > limits.demoteAbove) return 'low';
  if (current === 'low' && busy < limits.promoteBelow) return 'high';
  return current;
}
