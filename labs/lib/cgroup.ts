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
