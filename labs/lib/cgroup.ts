// The lab's own cgroup, in the cgroup v2 hierarchy (/sys/fs/cgroup on a pure v2 host, the
// `unified` mount on a hybrid one): `<prefix>-lab/<hN|sw>`. No controllers are enabled, it
// only tags every process the lab starts (and their children), so `down` finds them all.
// Without a v2 hierarchy every function here is a no-op (the /proc scan still works).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';

/** Mount point of the cgroup v2 hierarchy, or undefined when there is none. */
export function cgroup2Root(): string | undefined {
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) return '/sys/fs/cgroup';
  if (existsSync('/sys/fs/cgroup/unified/cgroup.procs')) return '/sys/fs/cgroup/unified';
  return undefined;
}

/** Creates `<root>/<lab>/<leaf>` and returns its directory (undefined without cgroup v2). */
export function ensureLabCgroup(lab: string, leaf: string): string | undefined {
  const root = cgroup2Root();
  if (!root) return undefined;
  const dir = join(root, lab, leaf);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** PIDs listed in a cgroup directory and all its children. */
export function cgroupPids(dir: string): number[] {
  const out: number[] = [];
  const walk = (d: string) => {
    try {
      for (const line of readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n')) if (line) out.push(Number(line));
      for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name));
    } catch {
      /* gone */
    }
  };
  walk(dir);
  return out;
}

/** The lab's cgroup directory (may not exist), or undefined without cgroup v2. */
export function labCgroupDir(lab: string): string | undefined {
  const root = cgroup2Root();
  return root ? join(root, lab) : undefined;
}

/**
 * Removes a cgroup directory tree, deepest first. Directories that still hold processes
 * stay (rmdir fails with EBUSY); returns the paths that could not be removed.
 */
export function removeCgroupTree(dir: string): string[] {
  const left: string[] = [];
  const walk = (d: string) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) walk(join(d, e.name));
    try {
      rmdirSync(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') left.push(d);
    }
  };
  walk(dir);
  return left;
}

/** Mount points of the cgroup hierarchies, keyed like /proc/PID/cgroup lines ('' = v2). */
function hierarchyMounts(): Map<string, string> {
  const out = new Map<string, string>();
  try {
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const [pre, post] = line.split(' - ');
      if (!post) continue;
      const [fstype, , superOpts] = post.split(' ');
      const mp = pre.split(' ')[4];
      if (fstype === 'cgroup2') out.set('', mp);
      else if (fstype === 'cgroup') {
        const opts = superOpts.split(',').filter((o) => o !== 'rw' && o !== 'ro' && !o.startsWith('release_agent') && o !== 'clone_children');
        out.set(opts.sort().join(','), mp);
      }
    }
  } catch { /* none */ }
  return out;
}

/** Absolute cgroup directories of a process, one per hierarchy ([] when it is gone). */
export function cgroupDirsOf(pid: number): { dirs: string[]; unified?: string } {
  const mounts = hierarchyMounts();
  const dirs: string[] = [];
  let unified: string | undefined;
  let text = '';
  try {
    text = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    return { dirs };
  }
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const key = m[1].split(',').sort().join(',');
    const mp = mounts.get(key);
    if (m[1] === '') unified = m[2];
    if (mp && m[2] !== '/') dirs.push(join(mp, m[2]));
  }
  return { dirs, unified };
}

/**
 * Removes the given cgroup directories if empty, then their parents while empty, never
 * touching a directory in `keep` or one that is an ancestor of a `keep` entry (such as our
 * own cgroups). A directory that still holds processes or children stays.
 */
export function removeEmptyCgroups(dirs: Iterable<string>, keep: Iterable<string>): void {
  const kept = [...keep];
  const protectedDir = (d: string) => kept.some((k) => k === d || k.startsWith(d + '/'));
  const roots = new Set(hierarchyMounts().values());
  const sorted = [...new Set(dirs)].sort((a, b) => b.length - a.length);
  for (let d of sorted) {
    while (!roots.has(d) && d.startsWith('/sys/fs/cgroup/') && !protectedDir(d)) {
      try {
        rmdirSync(d);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') break;
      }
      d = join(d, '..');
    }
  }
}
