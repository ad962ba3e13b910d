// The multi-host lab: N hosts as namespaces on one machine, each running its own
// `shoal daemon`, a switch with the lab registry, partitions, host loss, and a `down` that
// leaves nothing behind (also after a crash). See labs/lib/README.md.
//
//   await withLab({ hosts: 3, prefix: 'shoalt' }, async (lab) => {
//     await lab.exec('h1', ['ip', '-br', 'addr']);
//     await lab.killDaemon('h2'); await lab.startDaemon('h2');
//     await lab.partition('h2'); await lab.heal();
//   });
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { enterArgs, startAnchor } from './anchor.ts';
import { ensureLabCgroup, labCgroupDir } from './cgroup.ts';
import { daemonPid, SHOAL_BIN, startDaemon, type DaemonOptions } from './daemon.ts';
import { LabNames, MAX_HOSTS } from './names.ts';
import { createHostNet, createSwitch, healHost, isPartitioned, labNetns, netnsInode, partitionHost, type PartitionMode } from './netns.ts';
import { cmdline, isAlive, nsInode, run, signal, stopPid, type RunResult } from './procs.ts';
import { emptyScope, findScopePids, killScope, type ProcessScope } from './reaper.ts';
import { pushTestImages, startRegistry, stopRegistry, type PushedTestImages } from './registry.ts';
import { ping, unixRequest, type UnixRequestOptions, type UnixResponse } from './unix-http.ts';
import { removeLabLeftovers } from './teardown.ts';

/** Options of {@link Lab.up}. */
export interface LabOptions {
  /** Number of hosts h1…hN. Default 3. */
  hosts?: number;
  /** Name prefix of namespaces, table, cgroup and base dir. Default 'shoal'. */
  prefix?: string;
  /** Base directory. Default $SHOAL_LAB_DIR, else /tmp/<prefix>-lab. */
  baseDir?: string;
  /** Run the registry (and push the test image v1, v2). Default true. */
  registry?: boolean;
  /** Start each host's daemon; false for network-only labs. Default true. */
  daemons?: boolean | DaemonOptions;
  /** Tear down an existing lab of the same prefix first instead of failing. Default false. */
  replace?: boolean;
  /** Progress messages (default: none). */
  log?: (msg: string) => void;
}

/** Thrown for lab misuse (already up, unknown host, not up) and failed clean-ups. */
export class LabError extends Error {
  override name = 'LabError';
}

/** One host as recorded in the state file. */
export interface LabHostRecord {
  name: string;
  address: string;
  netns: string;
  hostDir: string;
  socket: string;
  anchorPid: number;
  /** Namespace inodes of the anchor (so `down` finds its processes after a crash). */
  ns: { net?: string; mnt?: string; uts?: string };
}

/** The state file (`<baseDir>/lab.json`). */
export interface LabState {
  prefix: string;
  baseDir: string;
  createdAt: string;
  hosts: LabHostRecord[];
  switchNetns: string;
  registry?: { address: string; pid: number; images: PushedTestImages['tags']; layoutDir?: string };
  daemons: boolean;
}

/** Host status, as `status` prints it. */
export interface LabHostStatus {
  name: string;
  address: string;
  netns: string;
  anchorPid: number;
  anchorAlive: boolean;
  daemonPid?: number;
  daemonAlive: boolean;
  /** /_ping answered OK. */
  ready: boolean;
  partitioned: boolean;
  socket: string;
}

/** Whole-lab status. */
export interface LabStatus {
  prefix: string;
  baseDir: string;
  hosts: LabHostStatus[];
  registry?: { address: string; pid: number; alive: boolean };
}

/** A running lab. Create with {@link Lab.up} or {@link Lab.attach}; end with {@link Lab.down}. */
export class Lab {
  readonly names: LabNames;
  private state: LabState;
  private readonly daemonOpts: DaemonOptions;

  private constructor(names: LabNames, state: LabState, daemonOpts: DaemonOptions) {
    this.names = names;
    this.state = state;
    this.daemonOpts = daemonOpts;
  }

  /**
   * Builds a lab: switch + bridge, hosts with anchors, registry with the test image, and a
   * daemon per host (all ready on return). On any failure everything built so far is torn
   * down before the error is rethrown. Throws {@link LabError} if the prefix is in use
   * (unless `replace`).
   */
  static async up(opts: LabOptions = {}): Promise<Lab> {
    const names = new LabNames(opts.prefix ?? 'shoal', opts.baseDir);
    const n = opts.hosts ?? 3;
    if (!Number.isInteger(n) || n < 1 || n > MAX_HOSTS) throw new LabError(`lab: --hosts must be 1-${MAX_HOSTS}`);
    const log = opts.log ?? (() => {});
    if (existsSync(names.stateFile) || labNetns(names).length) {
      if (!opts.replace) throw new LabError(`lab: a lab with prefix "${names.prefix}" exists (${names.baseDir}); run down first`);
      await Lab.down({ prefix: names.prefix, baseDir: names.baseDir });
    }
    const daemonOpts = typeof opts.daemons === 'object' ? opts.daemons : {};
    const hosts = Array.from({ length: n }, (_, i) => names.host(i + 1));
    const state: LabState = {
      prefix: names.prefix, baseDir: names.baseDir, createdAt: new Date().toISOString(),
      hosts: [], switchNetns: names.switchNetns, daemons: opts.daemons !== false,
    };
    const lab = new Lab(names, state, daemonOpts);
    try {
      mkdirSync(names.baseDir, { recursive: true });
      lab.save();
      await createSwitch(names);
      for (const h of hosts) mkdirSync(names.hostDir(h), { recursive: true });
      await Promise.all(hosts.map((h) => createHostNet(names, h)));
      log(`network: ${names.switchNetns} + ${hosts.length} hosts`);
      state.hosts = await Promise.all(hosts.map(async (h): Promise<LabHostRecord> => {
        const anchorPid = await startAnchor(names, h, { hosts, cgroupDir: ensureLabCgroup(names.cgroupName, h) });
        return {
          name: h, address: names.hostAddress(h), netns: names.hostNetns(h), hostDir: names.hostDir(h),
          socket: names.socket(h), anchorPid,
          ns: { net: nsInode(`/proc/${anchorPid}/ns/net`), mnt: nsInode(`/proc/${anchorPid}/ns/mnt`), uts: nsInode(`/proc/${anchorPid}/ns/uts`) },
        };
      }));
      lab.save();
      log('anchors up');
      const registry = opts.registry === false ? undefined : (async () => {
        // Filled on loopback by our own push (in this process), then served from the switch
        // with the same storage: much faster than a pushing helper inside the switch netns.
        const cgroupDir = ensureLabCgroup(names.cgroupName, 'sw');
        const seed = await startRegistry({ listen: '127.0.0.1:0', dataDir: names.registryDir, cgroupDir });
        let pushed: PushedTestImages;
        try {
          pushed = await pushTestImages(seed.address, { workDir: join(names.registryDir, 'image') });
        } finally {
          await seed.stop();
        }
        const reg = await startRegistry({ listen: names.registryAddress, dataDir: names.registryDir, netns: names.switchNetns, cgroupDir });
        const images: PushedTestImages['tags'] = {};
        for (const [v, t] of Object.entries(pushed.tags)) {
          images[v as keyof typeof images] = { ...t, ref: t.ref.replace(seed.address, reg.address) };
        }
        state.registry = { address: reg.address, pid: reg.pid, images, layoutDir: pushed.layoutDir };
        lab.save();
        log(`registry ${reg.address}: ${Object.values(images).map((t) => t.ref).join(' ')}`);
      })();
      const daemons = opts.daemons === false ? undefined : Promise.all(hosts.map((h) => lab.startDaemon(h)));
      const results = await Promise.allSettled([registry, daemons]);
      for (const r of results) if (r.status === 'rejected') throw r.reason;
      if (daemons) log('daemons ready');
      return lab;
    } catch (err) {
      await Lab.down({ prefix: names.prefix, baseDir: names.baseDir }).catch(() => {});
      throw err;
    }
  }

  /** The lab of `prefix` as recorded in its state file. Throws {@link LabError} if not up. */
  static attach(opts: { prefix?: string; baseDir?: string } = {}): Lab {
    const names = new LabNames(opts.prefix ?? 'shoal', opts.baseDir);
    let state: LabState;
    try {
      state = JSON.parse(readFileSync(names.stateFile, 'utf8')) as LabState;
    } catch {
      throw new LabError(`lab: no lab with prefix "${names.prefix}" is up (${names.stateFile} missing)`);
    }
    return new Lab(names, state, {});
  }

  /**
   * Removes everything of the lab of `prefix`: processes (daemons get SIGTERM and up to
   * `graceMs`, then everything in scope is SIGKILLed), namespaces, links, mounts, nftables
   * tables, cgroups and the base dir. Idempotent; works after a crash, with no state file.
   * Throws {@link LabError} listing what could not be removed.
   */
  static async down(opts: { prefix?: string; baseDir?: string; graceMs?: number } = {}): Promise<void> {
    const names = new LabNames(opts.prefix ?? 'shoal', opts.baseDir);
    await removeLabLeftovers(names, { graceMs: opts.graceMs ?? 3000 });
  }

  /** Prefix of this lab. */
  get prefix(): string {
    return this.names.prefix;
  }
  /** Base directory of this lab. */
  get baseDir(): string {
    return this.names.baseDir;
  }
  /** Host names, h1…hN. */
  get hosts(): string[] {
    return this.state.hosts.map((h) => h.name);
  }
  /** `host:port` of the lab registry (reachable from the hosts only), if it runs. */
  get registryAddress(): string | undefined {
    return this.state.registry?.address;
  }
  /** The pushed test image tags (`ref`, `digest` per version). */
  get images(): PushedTestImages['tags'] {
    return this.state.registry?.images ?? {};
  }

  /** The OCI layout of the test image (tags v1, v2) the registry was filled from. */
  get layoutDir(): string | undefined {
    return this.state.registry?.layoutDir;
  }

  /** The record of a host; throws {@link LabError} for an unknown one. */
  host(name: string): LabHostRecord {
    const h = this.state.hosts.find((x) => x.name === name);
    if (!h) throw new LabError(`lab: no host ${name} (hosts: ${this.hosts.join(', ')})`);
    return h;
  }
  /** Path of a host's daemon socket. */
  socket(name: string): string {
    return this.host(name).socket;
  }
  /** `unix://…` address of a host's daemon (for DOCKER_HOST / --host). */
  dockerHost(name: string): string {
    return `unix://${this.socket(name)}`;
  }
  /** Underlay address of a host. */
  address(name: string): string {
    return this.host(name).address;
  }
  /** PID of a host's daemon if it runs. */
  daemonPid(name: string): number | undefined {
    this.host(name);
    return daemonPid(this.names, name);
  }

  /**
   * Runs a command inside a host (its mount, net and UTS namespaces; the root filesystem
   * is shared, so host tools work). Never throws for a non-zero exit.
   */
  exec(name: string, argv: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    return run('nsenter', [...enterArgs(this.liveAnchor(name)), ...argv], opts);
  }

  /** nsenter argv prefix that enters a host (for callers spawning their own processes). */
  enterCommand(name: string): string[] {
    return ['nsenter', ...enterArgs(this.liveAnchor(name))];
  }

  /** One HTTP request to a host's daemon over its unix socket. */
  request(name: string, path: string, opts?: UnixRequestOptions): Promise<UnixResponse> {
    return unixRequest(this.socket(name), path, opts);
  }

  /** Starts a host's daemon (no-op if it runs) and waits for /_ping. Resolves with its PID. */
  async startDaemon(name: string): Promise<number> {
    return startDaemon(this.names, name, this.liveAnchor(name), {
      ...this.daemonOpts,
      cgroupDir: ensureLabCgroup(this.names.cgroupName, name),
    });
  }

  /**
   * Host loss: SIGKILLs the host's daemon and every container and helper of the host (all
   * processes in its namespaces or cgroup), keeping the anchor, so the namespaces, data
   * and /run stay as a crashed machine would leave them. Resolves with the PIDs killed
   * once they are gone.
   */
  async killDaemon(name: string): Promise<number[]> {
    const h = this.host(name);
    const scope: ProcessScope = emptyScope();
    const net = netnsInode(h.netns);
    if (net) scope.netns.add(net);
    // The recorded mount ns counts only while the anchor holds it (inodes are reused).
    if (h.ns.mnt && this.anchorAlive(name)) scope.mntns.add(h.ns.mnt);
    const cg = labCgroupDir(this.names.cgroupName);
    if (cg) scope.cgroupDirs.push(join(cg, name));
    scope.insiders.push(h.anchorPid);
    scope.spare.add(h.anchorPid);
    const daemon = daemonPid(this.names, name);
    const before = findScopePids(scope);
    const first = daemon && before.includes(daemon) ? [daemon] : [];
    for (const p of first) await stopPid(p, 0);
    const { killed, left } = await killScope(scope, { also: before });
    if (left.length) throw new LabError(`lab: ${name}: processes survive SIGKILL: ${left.join(' ')}`);
    return [...first, ...killed];
  }

  /**
   * Freezes a host's daemon (SIGSTOP): alive but silent, like a stalled machine. Its
   * containers keep running. Undo with {@link resumeDaemon}; `down` copes with it.
   */
  pauseDaemon(name: string): void {
    const pid = daemonPid(this.names, name);
    if (!pid) throw new LabError(`lab: ${name} has no running daemon`);
    signal(pid, 'SIGSTOP');
  }

  /** Lets a paused daemon run again (SIGCONT). */
  resumeDaemon(name: string): void {
    const pid = daemonPid(this.names, name);
    if (pid) signal(pid, 'SIGCONT');
  }

  /**
   * Cuts a host off the underlay: nftables drop on its eth0 by default, or its switch port
   * down (`'link'`). With `{ from: ['h1'] }` only traffic between it and those hosts is
   * dropped (both directions), so asymmetric splits can be built; with `direction: 'in'`
   * only what arrives is dropped (a one-way partition). Partitions accumulate until
   * {@link heal}.
   */
  async partition(name: string, opts: PartitionMode | { mode?: PartitionMode; from?: string[]; direction?: 'both' | 'in' } = 'drop'): Promise<void> {
    this.host(name);
    const o = typeof opts === 'string' ? { mode: opts } : opts;
    const peers = o.from?.map((h) => this.address(h));
    await partitionHost(this.names, name, { mode: o.mode, peers, direction: 'direction' in o ? o.direction : undefined });
  }

  /**
   * Runs the `shoal` command against a host's daemon (SHOAL_HOST set to its socket), from
   * the root namespace. Never throws for a non-zero exit.
   */
  cli(name: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    return run('env', [`SHOAL_HOST=${this.dockerHost(name)}`, process.execPath, SHOAL_BIN, ...args], opts);
  }

  /** Heals one host's partition, or every host's when no name is given. Idempotent. */
  async heal(name?: string): Promise<void> {
    const hosts = name ? [this.host(name).name] : this.hosts;
    await Promise.all(hosts.map((h) => healHost(this.names, h)));
  }

  /** Hosts, addresses, anchors, daemons and registry, as they are now. */
  async status(): Promise<LabStatus> {
    const hosts = await Promise.all(this.state.hosts.map(async (h): Promise<LabHostStatus> => {
      const pid = daemonPid(this.names, h.name);
      const alive = pid !== undefined;
      return {
        name: h.name, address: h.address, netns: h.netns, anchorPid: h.anchorPid, anchorAlive: this.anchorAlive(h.name),
        daemonPid: pid, daemonAlive: alive, ready: alive && (await ping(h.socket, 1000)),
        partitioned: await isPartitioned(this.names, h.name), socket: h.socket,
      };
    }));
    const reg = this.state.registry;
    return {
      prefix: this.prefix, baseDir: this.baseDir, hosts,
      registry: reg && { address: reg.address, pid: reg.pid, alive: isAlive(reg.pid) && cmdline(reg.pid).includes(this.names.registryDir) },
    };
  }

  /** Tears this lab down (see {@link Lab.down}). */
  async down(opts: { graceMs?: number } = {}): Promise<void> {
    await Lab.down({ prefix: this.prefix, baseDir: this.baseDir, ...opts });
  }

  /** Stops only the registry (for tests of registry loss); its storage stays. */
  async stopRegistry(): Promise<void> {
    await stopRegistry(this.names.registryDir);
  }

  /** Starts the registry again on the same storage and address (no-op if it runs). */
  async startRegistry(): Promise<void> {
    const reg = this.state.registry;
    if (!reg) throw new LabError('lab: this lab was built without a registry');
    if (isAlive(reg.pid) && cmdline(reg.pid).includes(this.names.registryDir)) return;
    const started = await startRegistry({
      listen: this.names.registryAddress, dataDir: this.names.registryDir, netns: this.names.switchNetns,
      cgroupDir: ensureLabCgroup(this.names.cgroupName, 'sw'),
    });
    reg.pid = started.pid;
    this.save();
  }

  /** Path of a host's daemon log. */
  daemonLog(name: string): string {
    return join(this.host(name).hostDir, 'daemon.log');
  }

  /** True when the host's anchor still runs (checked against its recorded mount ns). */
  anchorAlive(name: string): boolean {
    const h = this.host(name);
    return isAlive(h.anchorPid) && (!h.ns.mnt || nsInode(`/proc/${h.anchorPid}/ns/mnt`) === h.ns.mnt);
  }

  private liveAnchor(name: string): number {
    const h = this.host(name);
    if (!this.anchorAlive(name)) throw new LabError(`lab: anchor of ${name} (pid ${h.anchorPid}) is gone; run down and up`);
    return h.anchorPid;
  }

  private save(): void {
    writeFileSync(this.names.stateFile, JSON.stringify(this.state, null, 2) + '\n');
  }
}

/**
 * Brings a lab up (replacing a leftover one of the same prefix), runs `fn`, and always
 * tears the lab down afterwards, pass or fail, and also on SIGTERM/SIGINT meanwhile (then
 * the process dies of that signal). Returns what `fn` returns.
 */
export async function withLab<T>(opts: LabOptions, fn: (lab: Lab) => Promise<T>): Promise<T> {
  const lab = await Lab.up({ replace: true, ...opts });
  const release = downOnSignal(() => lab.down());
  try {
    return await fn(lab);
  } finally {
    release();
    await lab.down();
  }
}

/**
 * Until the returned function is called, SIGTERM or SIGINT runs `down` and then lets the
 * process die of that signal: a test runner's timeout sends SIGTERM, and a lab left up
 * would block the next run. For suites that bring a lab up in `before` and down in `after`.
 */
export function downOnSignal(down: () => Promise<void> | undefined): () => void {
  const release = () => void process.removeListener('SIGTERM', onSignal).removeListener('SIGINT', onSignal);
  const onSignal = (sig: NodeJS.Signals) => {
    release();
    void (down() ?? Promise.resolve()).catch(() => {}).finally(() => process.kill(process.pid, sig));
  };
  process.once('SIGTERM', onSignal).once('SIGINT', onSignal);
  return release;
}
