/**
 * How the DNS child's event-loop thread is scheduled (see `dns-process.ts`): the kernel
 * calls that set a thread's policy and read its CPU time. Node has no binding for
 * `sched_setattr`, so Perl (always on a node; a compiler is not) makes the system call.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** sched_setattr's system call number by `process.arch`. */
const SCHED_SETATTR: Partial<Record<string, number>> = { x64: 314, arm64: 274 };
const SCHED_OTHER = 0;
const SCHED_FIFO = 1;
/** Children and threads the thread makes later start as SCHED_OTHER (so V8's helpers and runc never inherit a real-time policy). */
const SCHED_FLAG_RESET_ON_FORK = 1;

/**
 * A policy for one thread: `realtime` is SCHED_FIFO at `priority` (1, the lowest: above
 * every SCHED_OTHER thread, below the kernel's own real-time threads); `fair` is
 * SCHED_OTHER at `nice` with a requested EEVDF slice of `sliceNs` (Linux 6.12 and later
 * use it: a thread with a short slice may preempt the running one when it wakes; older
 * kernels ignore it).
 */
export type SchedPolicy =
  | { kind: 'realtime'; priority: number }
  | { kind: 'fair'; nice: number; sliceNs: number };

/**
 * Sets `tid`'s policy (a thread ID; a PID names the process's main thread only). Resolves
 * when the kernel took it; rejects with the kernel's refusal (EPERM without
 * CAP_SYS_NICE, EINVAL on an unknown architecture) or a failure to run Perl.
 */
export function setSchedPolicy(tid: number, policy: SchedPolicy): Promise<void> {
  const nr = SCHED_SETATTR[process.arch];
  if (!nr) return Promise.reject(new Error(`dns: sched_setattr is not known on ${process.arch}`));
  // struct sched_attr: size, policy, flags, nice, priority, runtime, deadline, period.
  const attr = policy.kind === 'realtime'
    ? [SCHED_FIFO, SCHED_FLAG_RESET_ON_FORK, 0, policy.priority, 0]
    : [SCHED_OTHER, 0, policy.nice, 0, policy.sliceNs];
  const script = 'syscall($ARGV[0] + 0, $ARGV[1] + 0, pack("LLQlLQQQ", 48, @ARGV[2..6], 0, 0), 0) == 0 or die "sched_setattr: $!\\n"';
  return new Promise((resolve, reject) => {
    const p = spawn('perl', ['-e', script, ...[nr, tid, ...attr].map(String)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
    p.on('error', (e) => reject(new Error(`dns: cannot run perl for sched_setattr: ${e.message}`)));
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`dns: ${err.trim() || `perl exited ${code}`}`))));
  });
}

/** CPU time `tid` has run, in ns (`/proc/TID/schedstat`); undefined once it is gone. */
export function threadCpuNs(tid: number): number | undefined {
  try {
    return Number(readFileSync(`/proc/${tid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return undefined;
  }
}

/** `tid`'s scheduling policy number as `/proc/TID/sched` shows it (0 other, 1 fifo); undefined when not shown. */
export function schedPolicyOf(tid: number): number | undefined {
  try {
    const m = /^policy\s*:\s*(\d+)/m.exec(readFileSync(`/proc/${tid}/sched`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
