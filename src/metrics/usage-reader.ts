/**
 * The I/O half of `usage.ts`: which task containers run on this node (from the executor's
 * controllers and the agent's tasks) and their counters, read from cgroups and `/proc`
 * (through `agent/engine/cgroup-sample.ts`, the reader docker stats uses). One reading of 50
 * tasks is ~400 small file reads: callers read on demand (a scrape, a stats request), and
 * the two timed readers run only while needed (the dashboard's 2 s sampler while a page is
 * open, the leader's autoscaler each second while a service carries autoscale labels).
 */
import { closeSync, openSync, readFileSync, readlinkSync, readSync } from 'node:fs';
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
 * Small kernel files read through descriptors kept open between readings: one pread per
 * reading instead of open, fstat, reads and close, and no path walk. A read shorter than
 * the buffer is the whole file (seq_file and kernfs fill it up to EOF). For cgroup files
 * only: an open cgroup file does not keep its cgroup from being removed (reads then fail),
 * whereas a descriptor of /proc/PID/net/* would keep the task's network namespace alive.
 * The owner closes what it no longer reads (`retain`, `close`).
 */
export class OpenFiles {
  private fds = new Map<string, number>();

  /** The text of `path`; undefined when it cannot be opened or read (the process is gone). */
  read(path: string): string | undefined {
    let fd = this.fds.get(path);
    if (fd === undefined) {
      try {
        fd = openSync(path, 'r');
      } catch {
        return undefined;
      }
      this.fds.set(path, fd);
    }
    try {
      return readAll(fd);
    } catch {
      this.fds.delete(path);
      closeSync(fd);
      return undefined;
    }
  }

  /** Closes the descriptors of the paths `keep` rejects. */
  retain(keep: (path: string) => boolean): void {
    for (const [path, fd] of this.fds) {
      if (keep(path)) continue;
      this.fds.delete(path);
      closeSync(fd);
    }
  }

  /** Closes every descriptor. */
  close(): void {
    this.retain(() => false);
  }
}

/** What a reader keeps of one running container between readings (it never changes while the process lives). */
interface Known {
  where: NonNullable<ReturnType<typeof cgroupDirs>>;
  /** The files it reads, each through a descriptor kept open. */
  files: OpenFiles;
  /** Whether its network namespace is this daemon's (then no connection count is read). */
  hostNet: boolean;
}

/** Where cgroup files are: read through {@link OpenFiles}; anything else is read afresh each time. */
const CGROUP_ROOT = '/sys/fs/cgroup/';

/** Reads a /proc file: open, one read (a short one is the whole file), close; the buffer is shared. */
function readText(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    return readAll(fd);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

let shared = Buffer.allocUnsafe(16 * 1024);

/** The whole text behind `fd`, read from offset 0 (pread: no seek, the descriptor may be read again). */
function readAll(fd: number): string {
  let n = readSync(fd, shared, 0, shared.length, 0);
  while (n === shared.length) {
    const bigger = Buffer.allocUnsafe(shared.length * 2);
    shared.copy(bigger, 0, 0, n);
    shared = bigger;
    n += readSync(fd, shared, n, shared.length - n, n);
  }
  return shared.toString('utf8', 0, n);
}

/**
 * Reads task usage cheaply, for scrapes: a container's cgroup directories are looked up
 * once per init PID, and only the files a reading needs are read — 9 small files per
 * task, its cgroup files through descriptors kept open while the task runs (closed by the
 * first reading after it stops, or by `close()`).
 */
export class UsageReader {
  private known = new Map<string, Known>();
  private ownNet?: string;

  /**
   * `connections`: read each task's accepted-connection count (`tcpPassiveOpens`, one
   * /proc/PID/net/snmp per task, the costliest file of a reading); default true. The
   * metrics scrape, which shows no such series, reads without it.
   */
  constructor(private readonly opts: { connections?: boolean } = {}) {}

  /** Reads every target once; containers that exited meanwhile are left out. */
  read(targets: UsageTarget[], now: () => Date = () => new Date()): TaskUsage[] {
    const out: TaskUsage[] = [];
    const live = new Map<string, Known>();
    const hostMemory = totalmem();
    for (const t of targets) {
      // Keyed by container and PID: a PID reused by another container starts afresh.
      const key = `${t.id.containerId}:${t.pid}`;
      const k = this.known.get(key) ?? this.learn(t.pid);
      if (!k) continue;
      live.set(key, k);
      const sample = sampleOf(t.pid, k.where, USAGE_FILES, { procStat: false, now, hostMemory, read: (p) => (p.startsWith(CGROUP_ROOT) ? k.files.read(p) : readText(p)) });
      if (!sample) continue;
      const u = usageOf(sample, t.id);
      const opens = k.hostNet || this.opts.connections === false ? undefined : acceptedConnections(t.pid);
      out.push(opens === undefined ? u : { ...u, tcpPassiveOpens: opens });
    }
    for (const [key, k] of this.known) if (!live.has(key)) k.files.close();
    this.known = live;
    return out;
  }

  /** Closes every descriptor kept open. */
  close(): void {
    for (const k of this.known.values()) k.files.close();
    this.known.clear();
  }

  private learn(pid: number): Known | undefined {
    const where = cgroupDirs(pid);
    if (!where) return undefined;
    let hostNet = true;
    try {
      this.ownNet ??= readlinkSync('/proc/self/ns/net');
      hostNet = readlinkSync(`/proc/${pid}/ns/net`) === this.ownNet;
    } catch {
      // unreadable: no connection count, as for a host-network task
    }
    return { where, files: new OpenFiles(), hostNet };
  }
}

/**
 * TCP connections accepted in process `pid`'s network namespace (the autoscaler's rps
 * figure: one more file read per task); undefined when unreadable. Not read for a process
 * that shares this daemon's namespace (a host-network task would count the host's).
 */
function acceptedConnections(pid: number): number | undefined {
  const text = readText(`/proc/${pid}/net/snmp`);
  return text === undefined ? undefined : tcpPassiveOpens(text);
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
