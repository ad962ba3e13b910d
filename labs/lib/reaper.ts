// Finds and kills every process that belongs to a lab (or to one of its hosts), by PID:
// never by name. A process belongs when
//   - its network namespace is one of the lab's (the host/switch namespaces, and every
//     netns bound inside a host's mount namespace, e.g. task sandboxes under its /run/netns),
//   - or its mount namespace is a host's (the anchor's: daemon, helpers, `lab exec`),
//   - or it sits in the lab's cgroup (everything the lab started, and their children),
//   - or runc/crun state under the host's private /run names it as a container's init,
//   - or it descends from any of those.
// This also works after a crash: the inodes come from live processes and /run/netns.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cgroup2Root, cgroupDirsOf, cgroupPids, removeEmptyCgroups } from './cgroup.ts';
import { allPids, isAlive, nsInode, signal, sleep } from './procs.ts';

/** What identifies one scope (a whole lab or one host) of processes. */
export interface ProcessScope {
  /** Network namespace inodes. */
  netns: Set<string>;
  /** Mount namespace inodes (the anchors'). */
  mntns: Set<string>;
  /** cgroup v2 directories whose processes belong. */
  cgroupDirs: string[];
  /** Processes known to be in a host's mount namespace (to read its mountinfo and /run). */
  insiders: number[];
  /** PIDs never to kill (anchors, when only a daemon is killed). */
  spare: Set<number>;
}

/** An empty scope. */
export function emptyScope(): ProcessScope {
  return { netns: new Set(), mntns: new Set(), cgroupDirs: [], insiders: [], spare: new Set() };
}

/** Network namespace inodes bound (nsfs mounts) in the mount namespace of a process. */
function nsfsNetns(pid: number | 'self'): string[] {
  try {
    const out: string[] = [];
    for (const line of readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n')) {
      const m = /^\S+ \S+ \S+ net:\[(\d+)\] .* - nsfs /.exec(line);
      if (m) out.push(m[1]);
    }
    return out;
  } catch {
    return [];
  }
}

/**
 * Network namespaces bound only inside the mount namespace of `pid` (e.g. a host's task
 * sandboxes under its private /run/netns). A host's mount table still lists the root's
 * nsfs mounts (hidden under its /run tmpfs, and propagated): those are not the host's.
 */
function boundNetns(pid: number): string[] {
  const root = new Set(nsfsNetns('self'));
  return nsfsNetns(pid).filter((n) => !root.has(n));
}

/**
 * Container init PIDs from OCI runtime state anywhere under the /run of the process `pid`
 * (runc: `<root>/<id>/state.json` with `init_process_pid`; crun: `<root>/<id>/status` with
 * `pid`), whatever `--root` the daemon chose there. Depth-limited walk of a small tmpfs.
 */
function runtimeStatePids(pid: number): number[] {
  const out: number[] = [];
  let budget = 5000;
  const walk = (dir: string, depth: number) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (--budget < 0) return;
      const path = join(dir, e.name);
      if (e.isDirectory()) {
        if (depth < 6 && e.name !== 'netns') walk(path, depth + 1);
      } else if (e.isFile() && (e.name === 'state.json' || e.name === 'status')) {
        try {
          const v = JSON.parse(readFileSync(path, 'utf8'));
          const p = v?.init_process_pid ?? v?.pid;
          if (Number.isInteger(p) && p > 1 && sameProcess(p, v?.init_process_start)) out.push(p);
        } catch { /* not runtime state */ }
      }
    }
  };
  walk(`/proc/${pid}/root/run`, 0);
  return out;
}

/**
 * Guards against a recycled PID in stale runtime state: the start time must match when the
 * state records it (runc), and a container never shares our mount namespace.
 */
function sameProcess(pid: number, startTicks: unknown): boolean {
  try {
    if (nsInode(`/proc/${pid}/ns/mnt`) === nsInode('/proc/self/ns/mnt')) return false;
    if (typeof startTicks !== 'number') return true;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]) === startTicks;
  } catch {
    return false;
  }
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** Our own PID and those of our ancestors: never killed (we may run inside `lab exec`). */
function selfAndAncestors(): Set<number> {
  const out = new Set<number>([process.pid]);
  for (let p = parentOf(process.pid); p && p > 1 && !out.has(p); p = parentOf(p)) out.add(p);
  out.add(1);
  return out;
}

/** The PIDs in scope right now (see the file comment), minus spared ones and ourselves. */
export function findScopePids(scope: ProcessScope): number[] {
  // Guard: our own (the root) namespaces are never in scope, whatever a stale record says.
  const ownNet = nsInode('/proc/self/ns/net');
  const ownMnt = nsInode('/proc/self/ns/mnt');
  const initNet = nsInode('/proc/1/ns/net');
  const initMnt = nsInode('/proc/1/ns/mnt');
  const mntns = new Set([...scope.mntns].filter((n) => n !== ownMnt && n !== initMnt));
  const notOurs = (n: string) => n !== ownNet && n !== initNet;
  const netns = new Set([...scope.netns].filter(notOurs));
  const addBound = (p: number) => {
    for (const n of boundNetns(p)) if (notOurs(n)) netns.add(n);
  };
  const pids = allPids();
  const ns = new Map(pids.map((pid) => [pid, { mnt: nsInode(`/proc/${pid}/ns/mnt`), net: nsInode(`/proc/${pid}/ns/net`) }]));
  // A mount namespace inode is freed and reused as soon as its last process dies (others
  // make namespaces all the time). Honour one only while a process in it is also in one of
  // the scope's named netns (held by /run/netns) or in the lab cgroup: then it is ours.
  const cgroupMembers = new Set(scope.cgroupDirs.flatMap((d) => cgroupPids(d)));
  const heldMnt = new Set<string>();
  for (const pid of pids) {
    const { mnt, net } = ns.get(pid)!;
    if (mnt && mntns.has(mnt) && ((net && netns.has(net)) || cgroupMembers.has(pid))) heldMnt.add(mnt);
  }
  for (const m of [...mntns]) if (!heldMnt.has(m)) mntns.delete(m);
  const found = new Set<number>();
  // Each mount namespace met once: read its bound netns (task sandboxes) and runtime state.
  const probed = new Set<string>();
  const probe = (pid: number) => {
    const mnt = ns.get(pid)?.mnt ?? nsInode(`/proc/${pid}/ns/mnt`);
    if (!mnt || mnt === ownMnt || mnt === initMnt || probed.has(mnt)) return;
    probed.add(mnt);
    addBound(pid);
    for (const c of runtimeStatePids(pid)) if (isAlive(c)) found.add(c);
  };
  for (const p of scope.insiders) if (isAlive(p) && mntns.has(nsInode(`/proc/${p}/ns/mnt`) ?? '')) probe(p);
  // To a fixpoint: a process found through a host's netns may reveal more namespaces.
  for (let grew = true; grew;) {
    grew = false;
    for (const pid of pids) {
      if (found.has(pid)) continue;
      const { mnt, net } = ns.get(pid)!;
      if ((mnt && mntns.has(mnt)) || (net && netns.has(net))) {
        found.add(pid);
        const before = netns.size;
        probe(pid);
        if (netns.size > before) grew = true;
      }
    }
  }
  for (const dir of scope.cgroupDirs) for (const p of cgroupPids(dir)) found.add(p);
  // Descendants of anything found.
  const children = new Map<number, number[]>();
  for (const pid of pids) {
    const pp = parentOf(pid);
    if (pp !== undefined) children.set(pp, [...(children.get(pp) ?? []), pid]);
  }
  const queue = [...found];
  while (queue.length) {
    for (const c of children.get(queue.pop()!) ?? []) if (!found.has(c)) {
      found.add(c);
      queue.push(c);
    }
  }
  const never = selfAndAncestors();
  return [...found].filter((p) => !never.has(p) && !scope.spare.has(p) && isAlive(p)).sort((a, b) => a - b);
}

/**
 * SIGKILLs every process in scope (plus `also`: PIDs found earlier, whose link to the lab
 * may be gone by now), rescanning until none is left (containers may fork or be reparented
 * while we work). Returns the PIDs killed; the ones still alive after `rounds` (default 6)
 * scans are reported in `left`.
 */
export async function killScope(scope: ProcessScope, opts: { rounds?: number; also?: number[] } = {}): Promise<{ killed: number[]; left: number[] }> {
  const killed = new Set<number>();
  let left: number[] = [];
  let also = (opts.also ?? []).filter(isAlive);
  const cgroups = new Set<string>();
  const keep = new Set<string>([...cgroupDirsOf(process.pid).dirs, ...scope.cgroupDirs]);
  for (let i = 0; i < (opts.rounds ?? 6); i++) {
    left = [...new Set([...findScopePids(scope), ...also])];
    also = [];
    if (left.length === 0) break;
    for (const p of left) noteCgroups(p, scope, cgroups, keep);
    for (const p of left) {
      signal(p, 'SIGKILL');
      killed.add(p);
    }
    const deadline = Date.now() + 2000;
    while (left.some(isAlive) && Date.now() < deadline) await sleep(20);
  }
  left = findScopePids(scope);
  removeEmptyCgroups(cgroups, keep);
  return { killed: [...killed], left };
}

/**
 * Sorts a process's cgroups before it is killed: those of containers (whose v2 cgroup is
 * outside the lab's, so a runtime made it) may be removed once empty; those of the lab's own
 * processes (inherited from whoever ran `up`) are kept.
 */
function noteCgroups(pid: number, scope: ProcessScope, cgroups: Set<string>, keep: Set<string>): void {
  const { dirs, unified } = cgroupDirsOf(pid);
  const root = cgroup2Root();
  const inLab = unified !== undefined && !!root && scope.cgroupDirs.some((d) => {
    const u = join(root, unified);
    return u === d || u.startsWith(d + '/');
  });
  for (const d of dirs) (inLab ? keep : cgroups).add(d);
}
