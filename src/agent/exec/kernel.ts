/**
 * Thin adapters over the kernel parts a task uses: overlay and tmpfs mounts,
 * network namespaces, and the daemon's cgroup parent. Each is idempotent, so
 * remove() and restart recovery can call them on partial state.
 */
import { readFileSync, readdirSync, rmdirSync, existsSync, statSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { mustRun, runCommand } from './cmd.ts';

/**
 * The mount and netns operations a task needs. Two implementations: `spawnKernel`
 * (mount, umount, ip) and `monitorKernel` (syscalls inside the exec monitor: no
 * process per call, which matters when many tasks start at once).
 */
export interface KernelOps {
  mountOverlay(target: string, lower: string[], upper: string, work: string): Promise<void>;
  mountTmpfs(target: string, sizeBytes: number): Promise<void>;
  unmount(target: string): Promise<void>;
  /** Creates netns `name` with lo up; returns its path. */
  createNetns(name: string): Promise<string>;
  deleteNetns(name: string): Promise<void>;
}

/** Through the system tools. */
export const spawnKernel: KernelOps = {
  mountOverlay: (t, l, u, w) => mountOverlay(t, l, u, w),
  mountTmpfs: (t, s) => mountTmpfs(t, s),
  unmount: (t) => unmount(t),
  createNetns: (n) => createNetns(n),
  deleteNetns: (n) => deleteNetns(n),
};

/** What monitorKernel needs of the monitor client. */
export interface MonitorSys {
  mount(source: string, target: string, fstype: string, flags: number, data: string): Promise<void>;
  umount(target: string, flags?: number): Promise<string>;
  netns(path: string): Promise<void>;
}

const MS_NOSUID = 2;
const MS_NODEV = 4;
const MS_NOEXEC = 8;

/** Through syscalls inside the monitor. */
export function monitorKernel(sys: () => Promise<MonitorSys>): KernelOps {
  const umount = async (target: string) => {
    if (!isMounted(target)) return;
    const m = await sys();
    if (await m.umount(target, 0)) await m.umount(target, 2);
  };
  return {
    async mountOverlay(target, lower, upper, work) {
      await (await sys()).mount('overlay', target, 'overlay', 0, `lowerdir=${lower.join(':')},upperdir=${upper},workdir=${work}`);
    },
    async mountTmpfs(target, sizeBytes) {
      await (await sys()).mount('tmpfs', target, 'tmpfs', MS_NOSUID | MS_NODEV | MS_NOEXEC, `mode=0700,size=${sizeBytes}`);
    },
    unmount: umount,
    async createNetns(name) {
      const p = netnsPath(name);
      mkdirSync('/run/netns', { recursive: true });
      if (!isMounted(p)) await (await sys()).netns(p);
      return p;
    },
    async deleteNetns(name) {
      const p = netnsPath(name);
      if (isMounted(p)) await (await sys()).umount(p, 2);
      rmSync(p, { force: true });
    },
  };
}

/** True when `path` is a mount point (listed in /proc/self/mounts). */
export function isMounted(path: string): boolean {
  const esc = path.replace(/ /g, '\\040');
  return readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === esc);
}

/** Mounts an overlay at `target`: `lower` top-most first. */
export async function mountOverlay(target: string, lower: string[], upper: string, work: string): Promise<void> {
  const opts = `lowerdir=${lower.join(':')},upperdir=${upper},workdir=${work}`;
  await mustRun(['mount', '-t', 'overlay', 'overlay', '-o', opts, target]);
}

/** Mounts a tmpfs at `target` (mode 0700, size in bytes). */
export async function mountTmpfs(target: string, sizeBytes: number): Promise<void> {
  await mustRun(['mount', '-t', 'tmpfs', '-o', `mode=0700,nosuid,nodev,noexec,size=${sizeBytes}`, 'tmpfs', target]);
}

/** Unmounts `target` if mounted (lazy detach as a fallback when busy). */
export async function unmount(target: string): Promise<void> {
  if (!isMounted(target)) return;
  const r = await runCommand(['umount', target]);
  if (r.code !== 0 && isMounted(target)) await mustRun(['umount', '-l', target]);
}

/** Path of the named netns. */
export function netnsPath(name: string): string {
  return `/run/netns/${name}`;
}

/** Creates netns `name` with `lo` up (the default runtime spec cannot do it: no NET_ADMIN). */
export async function createNetns(name: string): Promise<string> {
  if (!existsSync(netnsPath(name))) await mustRun(['ip', 'netns', 'add', name]);
  await mustRun(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
  return netnsPath(name);
}

/** Deletes netns `name` if present. */
export async function deleteNetns(name: string): Promise<void> {
  if (existsSync(netnsPath(name))) await runCommand(['ip', 'netns', 'delete', name]);
}

const CGROUP_ROOT = '/sys/fs/cgroup';

/** Every hierarchy directory `rel` (e.g. `/shoal-n1/abc`) exists in: v1 controllers and v2. */
export function cgroupDirs(rel: string): string[] {
  const out: string[] = [];
  let entries: string[] = [];
  try { entries = readdirSync(CGROUP_ROOT); } catch { return out; }
  const single = existsSync(join(CGROUP_ROOT, 'cgroup.controllers'));
  if (single) return existsSync(join(CGROUP_ROOT, rel)) ? [join(CGROUP_ROOT, rel)] : [];
  for (const e of entries) {
    const d = join(CGROUP_ROOT, e, rel);
    try { if (statSync(join(CGROUP_ROOT, e)).isDirectory() && existsSync(d)) out.push(d); } catch { /* skip */ }
  }
  return out;
}

/** Removes the cgroup `rel` (and its empty children) in every hierarchy; returns what stayed. */
export function removeCgroup(rel: string): string[] {
  const left: string[] = [];
  const rm = (d: string) => {
    try { for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) rm(join(d, e.name)); } catch { /* gone */ }
    try { rmdirSync(d); } catch (e: any) { if (e.code !== 'ENOENT') left.push(d); }
  };
  for (const d of cgroupDirs(rel)) rm(d);
  return left;
}

/** OOM kills counted in the task's memory cgroup (v1 `memory.oom_control`, v2 `memory.events`). */
export function oomKills(rel: string): number {
  const read = (p: string) => { try { return readFileSync(p, 'utf8'); } catch { return ''; } };
  const v1 = read(join(CGROUP_ROOT, 'memory', rel, 'memory.oom_control'));
  const v2 = read(join(CGROUP_ROOT, rel, 'memory.events')) || read(join(CGROUP_ROOT, 'unified', rel, 'memory.events'));
  const m = /oom_kill (\d+)/.exec(v1 || v2);
  return m ? Number(m[1]) : 0;
}
