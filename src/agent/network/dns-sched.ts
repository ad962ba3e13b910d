/**
 * Kernel calls for the DNS child's event-loop thread (see `dns-process.ts`): ask for a
 * short EEVDF slice and read its CPU time. Node has no binding for `sched_setattr`, so
 * Perl (always on a node; a compiler is not) makes the system call.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** sched_setattr's system call number by `process.arch`. */
const SCHED_SETATTR: Partial<Record<string, number>> = { x64: 314, arm64: 274 };

/**
 * Sets `tid` (a thread ID; a PID names the process's main thread only) to SCHED_OTHER at
 * `nice` with a requested EEVDF slice of `sliceNs`: since Linux 6.12 a thread with a
 * shorter slice may preempt the running one when it wakes (older kernels ignore it). A
 * later `setpriority` changes the nice value and keeps the slice. Rejects with the
 * kernel's refusal (EPERM without CAP_SYS_NICE) or a failure to run Perl.
 */
export function setSlice(tid: number, nice: number, sliceNs: number): Promise<void> {
  const nr = SCHED_SETATTR[process.arch];
  if (!nr) return Promise.reject(new Error(`dns: sched_setattr is not known on ${process.arch}`));
  // struct sched_attr: size, policy (SCHED_OTHER), flags, nice, priority, runtime (the slice), deadline, period.
  const script = 'syscall($ARGV[0] + 0, $ARGV[1] + 0, pack("LLQlLQQQ", 48, 0, 0, $ARGV[2], 0, $ARGV[3], 0, 0), 0) == 0 or die "sched_setattr: $!\\n"';
  return new Promise((resolve, reject) => {
    const p = spawn('perl', ['-e', script, String(nr), String(tid), String(nice), String(sliceNs)], { stdio: ['ignore', 'ignore', 'pipe'] });
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
