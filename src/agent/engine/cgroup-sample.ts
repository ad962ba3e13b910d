/**
 * Reads a container's counters from its cgroups (v1 controllers, v2 unified, or the
 * hybrid of both as on this host) and its network namespace, into a {@link RawSample}.
 * The cgroup of each controller is taken from `/proc/<pid>/cgroup` of the container's
 * init process, so nested daemons and cgroup parents need no guessing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import type { RawSample } from './stats.ts';

const ROOT = '/sys/fs/cgroup';

function read(path: string): string | undefined {
  try { return readFileSync(path, 'utf8'); } catch { return undefined; }
}

/** controller → cgroup path, from /proc/<pid>/cgroup text (`''` keys the v2 hierarchy). */
export function parseProcCgroup(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of text.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(l.trim());
    if (!m) continue;
    for (const c of m[1].split(',')) out.set(c, m[2]);
  }
  return out;
}

/** Where a v1 controller is mounted (`cpu,cpuacct` may be joined). */
function v1Dir(controller: string): string | undefined {
  for (const d of [controller, 'cpu,cpuacct', 'cpuacct,cpu']) {
    if (d.split(',').includes(controller) && existsSync(join(ROOT, d))) return join(ROOT, d);
  }
  return undefined;
}

const V1_FILES: Record<string, string[]> = {
  memory: ['memory.usage_in_bytes', 'memory.max_usage_in_bytes', 'memory.failcnt', 'memory.limit_in_bytes', 'memory.stat'],
  cpuacct: ['cpuacct.usage', 'cpuacct.usage_percpu', 'cpuacct.stat'],
  cpu: ['cpu.stat'],
  blkio: ['blkio.throttle.io_service_bytes_recursive'],
  pids: ['pids.current', 'pids.max'],
};
const V2_FILES = ['memory.current', 'memory.max', 'memory.stat', 'cpu.stat', 'io.stat', 'pids.current', 'pids.max'];

/** The cgroup directory of each controller of process `pid`, v1 first, else v2. */
export function cgroupDirs(pid: number): { version: 'v1' | 'v2'; dirs: Map<string, string> } | undefined {
  const text = read(`/proc/${pid}/cgroup`);
  if (!text) return undefined;
  const cg = parseProcCgroup(text);
  const dirs = new Map<string, string>();
  if (cg.has('memory')) {
    for (const c of Object.keys(V1_FILES)) {
      const base = v1Dir(c);
      const p = cg.get(c);
      if (base && p !== undefined) dirs.set(c, join(base, p));
    }
    return { version: 'v1', dirs };
  }
  const p = cg.get('');
  if (p === undefined) return undefined;
  const base = existsSync(join(ROOT, 'cgroup.controllers')) ? ROOT : join(ROOT, 'unified');
  dirs.set('', join(base, p));
  return { version: 'v2', dirs };
}

/** Which cgroup files a sample reads: per v1 controller, and in the v2 directory. */
export interface SampleFiles {
  v1: Readonly<Record<string, readonly string[]>>;
  v2: readonly string[];
}

/** What `docker stats` needs. */
const STATS_FILES: SampleFiles = { v1: V1_FILES, v2: V2_FILES };

/**
 * One sample of process `pid`'s container from its cgroup directories `where` (as
 * {@link cgroupDirs} found them: a caller reading often may keep them, they never change
 * while the process lives), reading only `files`; `procStat` adds the host's /proc/stat
 * (what docker stats' CPU % needs); `read` replaces the file reader (a scraper keeps
 * descriptors open between readings), `hostMemory` the host's memory read now. Undefined
 * when the process is gone.
 */
export function sampleOf(pid: number, where: NonNullable<ReturnType<typeof cgroupDirs>>, files: SampleFiles, opts: { procStat: boolean; now?: () => Date; read?: (path: string) => string | undefined; hostMemory?: number }): RawSample | undefined {
  const readFile = opts.read ?? read;
  const netDev = readFile(`/proc/${pid}/net/dev`);
  if (netDev === undefined) return undefined;
  const texts: Record<string, string> = {};
  if (where.version === 'v1') {
    for (const [c, names] of Object.entries(files.v1)) {
      const d = where.dirs.get(c);
      if (!d) continue;
      for (const n of names) { const t = readFile(join(d, n)); if (t !== undefined) texts[n] = t; }
    }
  } else {
    const d = where.dirs.get('')!;
    for (const n of files.v2) { const t = readFile(join(d, n)); if (t !== undefined) texts[n] = t; }
  }
  const procStat = opts.procStat ? (readFile('/proc/stat') ?? '') : '';
  // totalmem() reads /proc/meminfo: a caller sampling many containers passes it once.
  return { version: where.version, files: texts, procStat, netDev, hostMemory: opts.hostMemory ?? totalmem(), read: (opts.now ?? (() => new Date()))() };
}

/** One `docker stats` sample of process `pid`'s container; undefined when the process is gone. */
export function readSample(pid: number, now: () => Date = () => new Date()): RawSample | undefined {
  const where = cgroupDirs(pid);
  return where ? sampleOf(pid, where, STATS_FILES, { procStat: true, now }) : undefined;
}

/** PIDs in the container's cgroup (the `pids` controller on v1, the unified one on v2). */
export function cgroupPids(pid: number): number[] {
  const where = cgroupDirs(pid);
  if (!where) return [];
  const dir = where.version === 'v1' ? (where.dirs.get('pids') ?? where.dirs.get('memory')) : where.dirs.get('');
  const text = dir ? read(join(dir, 'cgroup.procs')) : undefined;
  return (text ?? '').split('\n').filter(Boolean).map(Number);
}
