/**
 * The I/O half of `usage.ts`: which task containers run on this node (from the executor's
 * controllers and the agent's tasks) and their counters, read from cgroups and `/proc`
 * (through `agent/engine/cgroup-sample.ts`, the reader docker stats uses). One reading of 50
 * tasks is ~400 small file reads: callers read on demand (a scrape, a stats request), and
 * the two timed readers run only while needed (the dashboard's 2 s sampler while a page is
 * open, the leader's autoscaler each second while a service carries autoscale labels).
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import type { Task } from '../api/types/task.ts';
import type { TaskController } from '../agent/exec/controller.ts';
import { cgroupDirs, sampleOf, type SampleFiles } from '../agent/engine/cgroup-sample.ts';
import { systemCpu } from '../agent/engine/stats.ts';
import { containerName } from '../agent/engine/view.ts';
import { tcpPassiveOpens, usageOf, type TaskIdentity, type TaskUsage } from './usage.ts';

/** Where a node's running task containers come from (the daemon's executor and agent). */
export interface UsageSource {
  /** The executor's controllers; empty before the node ran any task. */
  containers(): Pick<TaskController, 'cid' | 'spec' | 'state' | 'record'>[];
  /** The agent's tasks (for names); empty outside a swarm. */
  tasks(): { task: Task }[];
}

/** A running container to read: its init PID and identity. */
export interface UsageTarget { pid: number; id: TaskIdentity }

/** The running task containers of `src` with their identity. */
export function usageTargets(src: UsageSource): UsageTarget[] {
  const tasks = new Map(src.tasks().map((t) => [t.task.ID, t.task]));
  const out: UsageTarget[] = [];
  for (const c of src.containers()) {
    const pid = c.record?.pid;
    if (c.state !== 'running' || !pid) continue;
    const labels = c.spec.labels ?? {};
    const task = tasks.get(c.spec.taskId);
    out.push({
      pid,
      id: {
        taskId: c.spec.taskId,
        taskName: containerName({ cid: c.cid, task, spec: c.spec }),
        serviceId: task?.ServiceID ?? labels['com.docker.swarm.service.id'] ?? '',
        serviceName: task?.ServiceAnnotations?.Name ?? labels['com.docker.swarm.service.name'] ?? '',
        nodeId: task?.NodeID ?? labels['com.docker.swarm.node.id'] ?? '',
        containerId: c.cid,
        cgroup: c.record?.cgroup ?? '',
        image: c.spec.image ?? '',
        cpuLimitNanos: c.spec.resources?.nanoCpus ?? 0,
      },
    });
  }
  return out;
}

/** The cgroup files a usage reading needs (a subset of what `docker stats` reads: no /proc/stat, no blkio). */
const USAGE_FILES: SampleFiles = {
  v1: { cpuacct: ['cpuacct.usage', 'cpuacct.stat'], memory: ['memory.usage_in_bytes', 'memory.limit_in_bytes', 'memory.stat', 'memory.failcnt'], pids: ['pids.current'] },
  v2: ['cpu.stat', 'memory.current', 'memory.max', 'memory.stat', 'memory.events', 'pids.current'],
};

/**
 * Reads task usage cheaply, for scrapes: a container's cgroup directories are looked up
 * once per init PID (they never change while it lives) and only the files a reading
 * needs are read — 8 small reads per task.
 */
export class UsageReader {
  private dirs = new Map<number, NonNullable<ReturnType<typeof cgroupDirs>>>();

  /** Reads every target once; containers that exited meanwhile are left out. */
  read(targets: UsageTarget[], now: () => Date = () => new Date()): TaskUsage[] {
    const out: TaskUsage[] = [];
    const live = new Map<number, NonNullable<ReturnType<typeof cgroupDirs>>>();
    for (const t of targets) {
      const where = this.dirs.get(t.pid) ?? cgroupDirs(t.pid);
      const sample = where && sampleOf(t.pid, where, USAGE_FILES, { procStat: false, now });
      if (!where || !sample) continue;
      live.set(t.pid, where);
      const u = usageOf(sample, t.id);
      const opens = acceptedConnections(t.pid);
      out.push(opens === undefined ? u : { ...u, tcpPassiveOpens: opens });
    }
    this.dirs = live;
    return out;
  }
}

/**
 * TCP connections accepted in process `pid`'s network namespace (the autoscaler's rps
 * figure: one more file read per task); undefined when unreadable or when the process
 * shares this daemon's namespace (a host-network task would count the host's).
 */
function acceptedConnections(pid: number): number | undefined {
  try {
    if (readlinkSync(`/proc/${pid}/ns/net`) === readlinkSync('/proc/self/ns/net')) return undefined;
    return tcpPassiveOpens(readFileSync(`/proc/${pid}/net/snmp`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The host's CPU time (seconds, all CPUs), CPU count and memory, read now. */
export function readHost(now: () => number = Date.now): { at: number; cpuSeconds: number; cpus: number; memoryTotalBytes: number; memoryUsedBytes: number } {
  let stat = '';
  let meminfo = '';
  try { stat = readFileSync('/proc/stat', 'utf8'); } catch { /* not Linux: zeros */ }
  try { meminfo = readFileSync('/proc/meminfo', 'utf8'); } catch { /* idem */ }
  const cpu = systemCpu(stat);
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(meminfo)?.[1] ?? 0) * 1024;
  const total = kb('MemTotal') || totalmem();
  const available = kb('MemAvailable');
  // /proc/stat counts idle time too (systemCpu sums user…steal): busy = all − idle − iowait.
  const f = (stat.split('\n').find((l) => l.startsWith('cpu ')) ?? '').trim().split(/\s+/).slice(1, 9).map(Number);
  const busyTicks = f.length >= 8 ? f[0] + f[1] + f[2] + f[5] + f[6] + f[7] : 0;
  return { at: now(), cpuSeconds: busyTicks / 100, cpus: cpu.online || availableParallelism(), memoryTotalBytes: total, memoryUsedBytes: available ? total - available : 0 };
}
