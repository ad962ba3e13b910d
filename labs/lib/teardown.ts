// `down`: removes every trace of a lab, with or without its state file (after a crash),
// and `labLeftovers`, which lists what is left (tests assert it is nothing).
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { cgroupPids, labCgroupDir, removeCgroupTree } from './cgroup.ts';
import type { LabNames } from './names.ts';
import { deleteNetns, labNetns, netnsInode } from './netns.ts';
import { cmdline, isAlive, nsInode, readPid, run, signal, sleep, allPids, cgroupOf } from './procs.ts';
import { emptyScope, findScopePids, killScope, type ProcessScope } from './reaper.ts';
import { stopRegistry } from './registry.ts';
import { executorName } from '../../src/agent/exec/paths.ts';

/** Thrown when `down` cannot remove something; the message lists what. */
export class TeardownError extends Error {
  override name = 'TeardownError';
}

/** Host directories present under a base dir. */
function hostDirs(baseDir: string): string[] {
  try {
    return readdirSync(baseDir).filter((d) => /^h[1-9]\d*$/.test(d)).map((d) => join(baseDir, d));
  } catch {
    return [];
  }
}

/** Namespace inodes recorded in the state file, if it is readable. */
function recordedNs(names: LabNames): { net: string[]; mnt: string[] } {
  try {
    const state = JSON.parse(readFileSync(names.stateFile, 'utf8')) as { hosts?: { ns?: { net?: string; mnt?: string } }[] };
    const hosts = state.hosts ?? [];
    return {
      net: hosts.map((h) => h.ns?.net).filter((x): x is string => !!x),
      mnt: hosts.map((h) => h.ns?.mnt).filter((x): x is string => !!x),
    };
  } catch {
    return { net: [], mnt: [] };
  }
}

/** Everything that identifies the lab's processes right now. */
export function labScope(names: LabNames): ProcessScope {
  const scope = emptyScope();
  const netSet = new Set<string>();
  for (const ns of labNetns(names)) {
    const ino = netnsInode(ns);
    if (ino) netSet.add(ino);
  }
  for (const n of netSet) scope.netns.add(n);
  const rec = recordedNs(names);
  // A recorded netns counts only if it still belongs to a lab namespace or an anchor: inode
  // numbers are reused after a namespace is freed.
  for (const dir of hostDirs(names.baseDir)) {
    const anchor = readPid(join(dir, 'anchor.pid'));
    if (anchor && isAlive(anchor) && cmdline(anchor).startsWith('sleep 2147483647')) {
      const net = nsInode(`/proc/${anchor}/ns/net`);
      const mnt = nsInode(`/proc/${anchor}/ns/mnt`);
      if (net && netSet.has(net)) {
        if (mnt) scope.mntns.add(mnt);
        scope.insiders.push(anchor);
      }
    }
  }
  // Recorded mount namespaces: trusted only while a process in a lab netns still holds them.
  if (rec.mnt.length) {
    const recMnt = new Set(rec.mnt);
    for (const pid of allPids()) {
      const mnt = nsInode(`/proc/${pid}/ns/mnt`);
      if (mnt && recMnt.has(mnt) && (netSet.has(nsInode(`/proc/${pid}/ns/net`) ?? '') || inLabCgroup(names, pid))) {
        scope.mntns.add(mnt);
        scope.insiders.push(pid);
      }
    }
  }
  const cg = labCgroupDir(names.cgroupName);
  if (cg && existsSync(cg)) scope.cgroupDirs.push(cg);
  return scope;
}

function inLabCgroup(names: LabNames, pid: number): boolean {
  return cgroupOf(pid).split('\n').some((l) => l.startsWith('0::') && l.includes(`/${names.cgroupName}/`));
}

/** Mount points at or under `dir` in a mountinfo file, deepest first. */
function mountsUnder(dir: string, file = '/proc/self/mountinfo'): string[] {
  try {
    const out: string[] = [];
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const mp = line.split(' ')[4]?.replace(/\\040/g, ' ');
      if (mp && (mp === dir || mp.startsWith(dir + '/'))) out.push(mp);
    }
    return out.sort((a, b) => b.length - a.length);
  } catch {
    return [];
  }
}

/**
 * Removes the lab: SIGTERM to the daemons (waiting at most `graceMs`), SIGKILL to every
 * process in scope (see reaper.ts), the registry, the namespaces (with their links and
 * nftables tables), mounts under the base dir, the lab cgroup and the base dir. Idempotent.
 * Throws {@link TeardownError} if anything remains.
 */
export async function removeLabLeftovers(names: LabNames, opts: { graceMs: number }): Promise<void> {
  const scope = labScope(names);
  // Found before the daemons stop: once the last process of a host's mount namespace is gone,
  // containers in netns bound only there cannot be traced to the lab any more.
  const before = findScopePids(scope);
  // Daemons first, politely: they may stop their containers themselves.
  const daemons = hostDirs(names.baseDir)
    .map((d) => readPid(join(d, 'daemon.pid')))
    .filter((p): p is number => !!p && isAlive(p) && belongs(scope, p));
  for (const p of daemons) signal(p, 'SIGTERM');
  const deadline = Date.now() + opts.graceMs;
  while (daemons.some(isAlive) && Date.now() < deadline) await sleep(25);

  const { left } = await killScope(scope, { also: before });
  await stopRegistry(names.registryDir);
  for (const ns of labNetns(names)) await deleteNetns(ns);
  for (const mp of mountsUnder(names.baseDir)) await run('umount', ['-l', mp]);
  const cg = labCgroupDir(names.cgroupName);
  // A process killed a moment ago keeps its cgroup busy until it is reaped (an orphan, such
  // as a daemon's exec helper, by whoever inherits it): try again for up to 3 s.
  let cgLeft = cg ? removeCgroupTree(cg) : [];
  for (const until = Date.now() + 3000; cg && cgLeft.length && Date.now() < until;) {
    await sleep(50);
    cgLeft = removeCgroupTree(cg);
  }
  // Each daemon's executor keeps its containers under /shoal-<hostname>-<engine id prefix>
  // (src/daemon/daemon.ts); a daemon killed rather than stopped leaves that parent behind.
  for (const d of hostDirs(names.baseDir)) {
    const parent = executorCgroupName(d);
    if (parent) cgLeft.push(...removeExecutorCgroup(parent));
  }
  rmSync(names.baseDir, { recursive: true, force: true });

  const problems: string[] = [];
  if (left.length) problems.push(`processes survive SIGKILL: ${left.join(' ')}`);
  const rest = labLeftovers(names);
  if (rest.netns.length) problems.push(`namespaces: ${rest.netns.join(' ')}`);
  if (rest.mounts.length) problems.push(`mounts: ${rest.mounts.join(' ')}`);
  if (cgLeft.length || rest.cgroup) problems.push(`cgroups: ${cgLeft.join(' ') || rest.cgroup}`);
  if (rest.dir) problems.push(`directory: ${names.baseDir}`);
  if (problems.length) throw new TeardownError(`lab: down of "${names.prefix}" left ${problems.join('; ')}`);
}

function belongs(scope: ProcessScope, pid: number): boolean {
  const net = nsInode(`/proc/${pid}/ns/net`);
  const mnt = nsInode(`/proc/${pid}/ns/mnt`);
  return (!!net && scope.netns.has(net)) || (!!mnt && scope.mntns.has(mnt));
}

/** A process identity that survives PID reuse: PID plus start time (clock ticks). */
export interface ProcessId {
  pid: number;
  start: number;
}

function startTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  } catch {
    return undefined;
  }
}

/** Every process of the lab right now (take it while the lab is up, check it after down). */
export function labProcesses(names: LabNames): ProcessId[] {
  const out: ProcessId[] = [];
  for (const pid of findScopePids(labScope(names))) {
    const start = startTime(pid);
    if (start !== undefined) out.push({ pid, start });
  }
  return out;
}

/** What of a lab is still there (all empty/false after a clean `down`). */
export interface LabLeftovers {
  netns: string[];
  /** Mount points mentioning the base dir in /proc/mounts or /proc/self/mountinfo. */
  mounts: string[];
  /** Processes still alive from a {@link labProcesses} snapshot, or in the lab cgroup. */
  processes: number[];
  /** The lab cgroup directory, if it exists. */
  cgroup?: string;
  /** The base dir exists. */
  dir: boolean;
}

/**
 * Lists what is left of a lab. `processes`, a {@link labProcesses} snapshot taken while it
 * was up, finds processes still running in namespaces that no longer have names (namespace
 * inodes are reused at once, so they cannot be compared after `down`).
 */
export function labLeftovers(names: LabNames, opts: { processes?: ProcessId[] } = {}): LabLeftovers {
  const mounts = new Set<string>();
  for (const file of ['/proc/mounts', '/proc/self/mountinfo']) {
    try {
      for (const line of readFileSync(file, 'utf8').split('\n')) if (line.includes(names.baseDir)) mounts.add(line);
    } catch { /* unreadable */ }
  }
  const survivors = (opts.processes ?? []).filter((p) => isAlive(p.pid) && startTime(p.pid) === p.start).map((p) => p.pid);
  const inCgroup = allPids().filter((p) => inLabCgroup(names, p));
  const cg = labCgroupDir(names.cgroupName);
  const cgPids = cg && existsSync(cg) ? cgroupPids(cg) : [];
  return {
    netns: labNetns(names),
    mounts: [...mounts],
    processes: [...new Set([...survivors, ...inCgroup, ...cgPids])].filter(isAlive),
    cgroup: cg && existsSync(cg) ? cg : undefined,
    dir: existsSync(names.baseDir),
  };
}

/** Lab nftables tables visible in the root namespace (should be none). */
export async function labNftTables(names: LabNames): Promise<string[]> {
  const r = await run('nft', ['list', 'tables']);
  return r.stdout.split('\n').filter((l) => l.includes(names.nftTable));
}

/** The executor cgroup parent (no leading slash) of the lab daemon whose host dir is `hostDir` (hostname = dir name). */
export function executorCgroupName(hostDir: string): string | undefined {
  let engineId: string;
  try {
    engineId = readFileSync(join(hostDir, 'data', 'engine-id'), 'utf8').trim();
  } catch {
    return undefined;
  }
  return `shoal-${executorName(basename(hostDir), engineId)}`;
}

/** Removes `/<name>` (and anything below) from every cgroup hierarchy; returns what stayed. */
function removeExecutorCgroup(name: string): string[] {
  const root = '/sys/fs/cgroup';
  const left: string[] = [];
  let controllers: string[] = [];
  try {
    controllers = readdirSync(root);
  } catch {
    return left;
  }
  const dirs = [join(root, name), ...controllers.map((c) => join(root, c, name))].filter((d) => existsSync(d));
  for (const d of dirs) left.push(...removeCgroupTree(d));
  return left;
}
