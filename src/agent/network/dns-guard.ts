/**
 * The DNS child's real-time guard, pure: the child's event loop runs SCHED_FIFO so a
 * query's wake-up preempts whatever else runs (see `dns-process.ts`), and a real-time
 * thread that stays busy would starve the node's other work on its CPU (the kernel only
 * holds real-time threads to 95 % of a CPU). So the daemon samples the loop's CPU time
 * and moves it back to the fair scheduler while it is busy (a task flooding the resolver,
 * a huge table), and up again once it is quiet: what a flood can take is then what the
 * fair scheduler gives it, as before real-time.
 */

/** When the guard moves the loop down and up, as fractions of one CPU over a sample. */
export interface DnsGuardLimits {
  /** Real-time → fair when the loop was busier than this. Default 0.5. */
  demoteAbove: number;
  /** Fair → real-time when the loop was less busy than this (below `demoteAbove`, for hysteresis). Default 0.2. */
  promoteBelow: number;
}

export const DNS_GUARD_LIMITS: DnsGuardLimits = { demoteAbove: 0.5, promoteBelow: 0.2 };

export type DnsSchedMode = 'realtime' | 'fair';

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

/** The mode the loop should have after a sample in which it was `busy` (fraction of one CPU). */
export function nextMode(mode: DnsSchedMode, busy: number, limits: DnsGuardLimits = DNS_GUARD_LIMITS): DnsSchedMode {
  if (!(limits.promoteBelow < limits.demoteAbove)) throw new Error(`dns: guard limits want promoteBelow < demoteAbove (got ${limits.promoteBelow}, ${limits.demoteAbove})`);
  if (mode === 'realtime' && busy > limits.demoteAbove) return 'fair';
  if (mode === 'fair' && busy < limits.promoteBelow) return 'realtime';
  return mode;
}
