/**
 * Standalone containers (`docker create | run | start | attach | rename | update | rm |
 * container prune`): containers this node runs for a person at the node, not for the
 * swarm. They go through the same executor as tasks (overlay rootfs, OCI bundle, runc,
 * sandbox, seccomp, cgroups, logs) under their own ID, so `docker ps | inspect | logs |
 * exec | stats | kill | stop` work on them through NodeEngine as on task containers. They
 * never count as tasks: the agent drives only the tasks the manager assigned (it looks
 * controllers up by task ID), so nothing of them is ever reported to a manager; they
 * live in this node's records (`records.ts`), not in the Raft store (DESIGN.md, plane 8).
 *
 * Networks: `bridge` (default; `DefaultBridge`: own address, NAT out, `-p` ports),
 * `host` (the daemon's netns), `none` (only `lo`). The bridge address and ports are
 * taken at start and given back at exit, as Docker does. An attachable swarm overlay:
 * a network attachment task asked of the leader at create (`StandaloneAttachments`),
 * whose netns the container runs in, ended at removal (see README.md).
 *
 *   const sa = new StandaloneContainers({ executor, bridge, volumes, … });
 *   const { Id } = await sa.create(body, 'web');
 *   await sa.start(Id);
 *   const exit = await sa.wait(Id, 'next-exit');
 *   await sa.remove(Id, { force: true, volumes: true });
 */
import { randomBytes } from 'node:crypto';
import { constants, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import type { Executor } from '../../exec/executor.ts';
import type { TaskController } from '../../exec/controller.ts';
import type { ExitStatus, TaskContainerSpec } from '../../exec/types.ts';
import { netnsNameOf } from '../../exec/paths.ts';
import type { DefaultBridge } from '../../network/bridge/default-bridge.ts';
import { ContainerConflictError, NoSuchContainerError, type StandaloneHooks } from '../engine.ts';
import { checkCreateConfig, checkName, CreateConfigError, networkName, type StandaloneConfig } from './create-config.ts';
import { assignHostPorts, inspectPorts, summaryPorts } from './ports.ts';
import { StandaloneRecords, type OverlayEndpoint, type StandaloneRecord } from './records.ts';
import { checkUpdate } from './update-config.ts';
import { TtyRelay } from './tty-relay.ts';

export type { OverlayEndpoint } from './records.ts';

/** What the manager needs of the node's volume store. */
export interface StandaloneVolumes {
  remove(name: string, users: string[]): Promise<void>;
}

/** Attachable overlay networks of the swarm this node is in (`swarm/attachment-tasks.ts`). */
export interface StandaloneAttachments {
  /** Asks the leader for an attachment task and waits until this node made its netns; `CreateConfigError` for a refusal. */
  attach(req: { containerId: string; name: string; network: string; image: string }): Promise<OverlayEndpoint>;
  /** Ends the container's attachment (the leader stops the task, this node removes its netns). */
  detach(containerId: string): Promise<void>;
}

/** Options of the standalone containers of one node. */
export interface StandaloneOptions {
  /** The node's executor, made on first use. */
  executor: () => Promise<Executor>;
  /** Throws the image store's not-found error when `ref` is not here (checked before the executor is made). */
  resolveImage?: (ref: string) => Promise<unknown>;
  /** Where the records are kept (one file per container; the daemon's `<dataRoot>/standalone`). */
  recordsDir: string;
  bridge: DefaultBridge;
  volumes: StandaloneVolumes;
  /** Whether a container (task or standalone) already answers to `name`. */
  nameTaken: (name: string) => boolean;
  /** Swarm networks; absent or undefined (not in a swarm): a network other than bridge, host, none is not found. */
  attachments?: () => StandaloneAttachments | undefined;
  logger?: { info(msg: string, f?: Record<string, unknown>): void; warn(msg: string, f?: Record<string, unknown>): void };
  newId?: () => string;
}

/** The longest a removal waits for attach streams to finish reading. */
const HOLD_MAX_MS = 2000;

const ADJECTIVES = ['brave', 'calm', 'eager', 'fond', 'keen', 'lucid', 'nimble', 'quiet', 'sharp', 'witty'];
const NAMES = ['bohr', 'curie', 'dijkstra', 'hopper', 'knuth', 'lamport', 'liskov', 'ritchie', 'shannon', 'turing'];

/** An exit of a standalone container that ended before anyone asked (Docker's wait answers it). */
interface Waiters { exit: ((s: ExitStatus) => void)[]; removed: ((s: ExitStatus) => void)[]; started: (() => void)[]; terminal: (() => void)[] }

/** Standalone containers of one node; also the NodeEngine's {@link StandaloneHooks}. */
export class StandaloneContainers implements StandaloneHooks {
  private readonly records: StandaloneRecords;
  private readonly waiters = new Map<string, Waiters>();
  private readonly lastExit = new Map<string, ExitStatus>();
  private readonly relays = new Map<string, TtyRelay>();
  /** Write ends of `-i` containers' stdin FIFOs (without a terminal), until the first attach closes it (StdinOnce). */
  private readonly stdins = new Map<string, Socket>();
  private readonly newId: () => string;
  /** Names of containers being created (not recorded yet). */
  private readonly creating = new Set<string>();
  /** Removals in flight (an auto-remove and a `docker rm` may meet). */
  private readonly removing = new Map<string, Promise<void>>();
  /** Attach streams still reading a container's output: its removal waits for them (at most HOLD_MAX_MS). */
  private readonly holds = new Map<string, Set<Promise<void>>>();

  constructor(private readonly opts: StandaloneOptions) {
    this.newId = opts.newId ?? (() => randomBytes(32).toString('hex'));
    this.records = new StandaloneRecords(opts.recordsDir);
  }

  /** Whether any standalone container is recorded (the daemon then restores at start). */
  get any(): boolean { return this.records.all().length > 0; }

  /**
   * Loads the records once the executor is there, drops those whose container is gone
   * (a reboot, a crash before the executor's record), and watches the running ones again.
   */
  async restore(): Promise<void> {
    const ex = await this.opts.executor();
    const recs = this.records;
    for (const r of recs.all()) {
      const c = ex.list().find((x) => x.cid === r.id);
      if (!c || c.state === 'removed') { recs.delete(r.id); continue; }
      if (c.state === 'running') this.watchExit(r.id, c);
      else if (c.state === 'exited' && r.config.autoRemove) void this.remove(r.id, { force: true, volumes: true }).catch(() => {});
    }
    await this.opts.bridge.restore().catch((err) => this.opts.logger?.warn('standalone: could not restore the default bridge', { error: String(err) }));
  }

  private waitersOf(id: string): Waiters {
    let w = this.waiters.get(id);
    if (!w) { w = { exit: [], removed: [], started: [], terminal: [] }; this.waiters.set(id, w); }
    return w;
  }

  // ---- hooks for NodeEngine ------------------------------------------------------------

  name(cid: string): string | undefined { return this.records.get(cid)?.name; }

  networks(cid: string): string[] {
    const r = this.records.get(cid);
    return r ? [networkName(r.config.network)] : [];
  }

  decorate(cid: string, doc: Record<string, unknown>, kind: 'summary' | 'inspect'): void {
    const r = this.records.get(cid);
    if (!r) return;
    const cfg = r.config;
    const mode = networkName(cfg.network);
    const networks = { [mode]: endpoint(r) };
    if (kind === 'summary') {
      doc.Ports = summaryPorts(cfg.exposedPorts, r.bridge?.ports ?? []);
      doc.HostConfig = { NetworkMode: mode === 'bridge' ? 'default' : mode };
      doc.NetworkSettings = { Networks: networks };
      return;
    }
    const hc = doc.HostConfig as Record<string, unknown>;
    const portBindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
    for (const p of cfg.ports) (portBindings[`${p.port}/${p.protocol}`] ??= []).push({ HostIp: '', HostPort: p.hostPort ? String(p.hostPort) : '' });
    Object.assign(hc, {
      NetworkMode: mode === 'bridge' ? 'default' : mode, PortBindings: portBindings, AutoRemove: cfg.autoRemove,
      Binds: cfg.mounts.filter((m) => m.type !== 'tmpfs').map((m) => `${m.source}:${m.target}${m.readOnly ? ':ro' : ''}`),
      ...(cfg.mounts.some((m) => m.type === 'tmpfs') ? { Tmpfs: Object.fromEntries(cfg.mounts.filter((m) => m.type === 'tmpfs').map((m) => [m.target, ''])) } : {}),
      ConsoleSize: cfg.consoleSize ?? [0, 0],
      // `docker update` changes these after create: the record has the current ones.
      Memory: cfg.resources.memoryBytes ?? 0, NanoCpus: cfg.resources.nanoCpus ?? 0, PidsLimit: cfg.resources.pidsLimit ?? null,
    });
    const c = doc.Config as Record<string, unknown>;
    Object.assign(c, {
      Tty: cfg.tty, OpenStdin: cfg.openStdin, StdinOnce: cfg.openStdin, AttachStdin: cfg.openStdin, AttachStdout: !cfg.openStdin || cfg.tty, AttachStderr: !cfg.openStdin || cfg.tty,
      ...(cfg.exposedPorts.length ? { ExposedPorts: Object.fromEntries(cfg.exposedPorts.map((p) => [p, {}])) } : {}),
      ...(cfg.anonymousVolumes.length ? { Volumes: Object.fromEntries(cfg.anonymousVolumes.map((p) => [p, {}])) } : {}),
      ...(mode === 'host' ? { Hostname: os.hostname() } : {}),
    });
    const ns = doc.NetworkSettings as Record<string, unknown>;
    const b = r.bridge;
    Object.assign(ns, {
      Networks: networks, Ports: inspectPorts(cfg.exposedPorts, b?.ports ?? []),
      ...(b ? { Bridge: '', Gateway: b.gateway, IPAddress: b.address, IPPrefixLen: 16, MacAddress: macOf(b.address) } : {}),
    });
  }

  async wait(cid: string, condition: string): Promise<ExitStatus> {
    const c = await this.controller(cid);
    if (condition === 'removed') return new Promise((r) => this.waitersOf(cid).removed.push(r));
    if (condition === 'next-exit' || (condition === 'not-running' && c.state === 'running')) {
      return new Promise((r) => this.waitersOf(cid).exit.push(r));
    }
    if (condition !== 'not-running') throw new CreateConfigError(`invalid condition: ${condition}`);
    return this.lastExit.get(cid) ?? c.record?.exit ?? { exitCode: 0, oomKilled: false };
  }

  async restart(cid: string): Promise<void> {
    throw new CreateConfigError(`restart: starting standalone container ${cid.slice(0, 12)} again after it ran is not supported by shoal yet (run a new one)`, 501);
  }

  // ---- lifecycle -----------------------------------------------------------------------

  private async controller(id: string): Promise<TaskController> {
    const ex = await this.opts.executor();
    const c = ex.list().find((x) => x.cid === id);
    if (!c || !this.records.get(id)) throw new NoSuchContainerError(id);
    return c;
  }

  /** Resolves a name, full ID or unique prefix to a standalone record; NoSuchContainerError otherwise. */
  async find(ref: string): Promise<StandaloneRecord> {
    const recs = this.records;
    const name = ref.replace(/^\//, '');
    const r = recs.get(ref) ?? recs.byName(name);
    if (r) return r;
    const byPrefix = ref ? recs.all().filter((x) => x.id.startsWith(ref)) : [];
    if (byPrefix.length === 1) return byPrefix[0];
    if (byPrefix.length > 1) throw new ContainerConflictError(`multiple IDs found with provided prefix: ${ref}`);
    throw new NoSuchContainerError(ref);
  }

  /** Whether `ref` names a standalone container (for routes that also serve task containers). */
  async isStandalone(ref: string): Promise<boolean> {
    try { await this.find(ref); return true; } catch { return false; }
  }

  /**
   * `POST /containers/create`: validates the body, makes the rootfs, netns and bundle
   * (the image must be here: the executor's ImageNotFoundError otherwise, which the CLI
   * answers by pulling). Returns the new ID.
   */
  async create(body: unknown, name?: string): Promise<{ Id: string; Warnings: string[] }> {
    const cfg = checkCreateConfig(body);
    for (const m of cfg.mounts) {
      if (m.type === 'bind' && !cfg.bindSourcesToMake.includes(m.source!) && !existsSync(m.source!)) {
        throw new CreateConfigError(`invalid mount config for type "bind": bind source path does not exist: ${m.source}`);
      }
    }
    await this.opts.resolveImage?.(cfg.image);
    // Docker makes a missing `-v` bind source as a directory.
    for (const src of cfg.bindSourcesToMake) if (!existsSync(src)) mkdirSync(src, { recursive: true });
    const ex = await this.opts.executor();
    const recs = this.records;
    let n = name ? checkName(name) : '';
    const taken = (x: string) => !!recs.byName(x) || this.creating.has(x) || this.opts.nameTaken(x);
    if (n && taken(n)) {
      const other = recs.byName(n)?.id ?? n;
      throw new ContainerConflictError(`Conflict. The container name "/${n}" is already in use by container "${other}". You have to remove (or rename) that container to be able to reuse that name.`);
    }
    while (!n || taken(n)) n = `${pick(ADJECTIVES)}_${pick(NAMES)}${n ? randomBytes(1)[0] : ''}`;
    // Held from here to the record's save: two creates of one name at once get one conflict.
    this.creating.add(n);
    try {
      return await this.createNamed(n, cfg, ex);
    } finally {
      this.creating.delete(n);
    }
  }

  private async createNamed(n: string, cfg: StandaloneConfig, ex: Executor): Promise<{ Id: string; Warnings: string[] }> {
    const recs = this.records;
    const id = this.newId();
    const rec: StandaloneRecord = { id, name: n, config: cfg, anonymousVolumes: cfg.anonymousVolumes.map(() => randomBytes(32).toString('hex')), starts: 0 };
    if (cfg.network.mode === 'overlay') {
      // The endpoint first: the bundle names its netns. Held until the container is removed.
      const att = this.opts.attachments?.();
      if (!att) throw new CreateConfigError(`network ${cfg.network.name} not found`, 404);
      rec.overlay = await att.attach({ containerId: id, name: n, network: cfg.network.name, image: cfg.image });
    }
    const undoOverlay = () => rec.overlay && this.opts.attachments?.()?.detach(id).catch((err) => this.opts.logger?.warn('standalone: could not end a network attachment', { 'container.id': id, error: String(err) }));
    let c: TaskController;
    try {
      c = ex.controller(this.specOf(rec));
    } catch (err) {
      await undoOverlay();
      throw err;
    }
    try {
      await c.prepare();
    } catch (err) {
      await c.remove().catch(() => {});
      await undoOverlay();
      throw err;
    }
    recs.save(rec);
    this.opts.logger?.info('standalone container created', { 'container.id': id, name: n, network: cfg.network.mode });
    return { Id: id, Warnings: [] };
  }

  private specOf(r: StandaloneRecord): TaskContainerSpec {
    const cfg = r.config;
    const mounts = [...cfg.mounts, ...cfg.anonymousVolumes.map((target, i) => ({ type: 'volume' as const, source: r.anonymousVolumes[i], target }))];
    const net = cfg.network.mode;
    const hosts = (cfg.extraHosts ?? []).map((h) => {
      const i = h.indexOf(':');
      if (i <= 0) throw new CreateConfigError(`HostConfig.ExtraHosts: invalid entry '${h}' (HOST:IP)`);
      return `${h.slice(i + 1)}\t${h.slice(0, i)}`;
    });
    return {
      taskId: r.id, image: cfg.image, command: cfg.entrypoint, args: cfg.cmd, env: cfg.env, user: cfg.user, dir: cfg.workdir,
      hostname: net === 'host' ? os.hostname() : cfg.hostname, readOnly: cfg.readOnly, capAdd: cfg.capAdd, capDrop: cfg.capDrop,
      privileged: cfg.privileged, labels: cfg.labels, mounts, resources: cfg.resources, stopSignal: cfg.stopSignal,
      ...(cfg.stopTimeoutS !== undefined ? { stopGracePeriodMs: cfg.stopTimeoutS * 1000 } : {}),
      sysctls: cfg.sysctls, ulimits: cfg.ulimits, hosts, tty: cfg.tty,
      ...(net === 'host' ? { netnsPath: `/proc/${process.pid}/ns/net`, resolvConf: readText('/etc/resolv.conf') } : {}),
      ...(r.overlay ? { netnsPath: r.overlay.netnsPath, resolvConf: r.overlay.resolvConf } : {}),
    };
  }

  /** `POST /containers/{id}/start`. False when it was running already (Docker's 304). */
  async start(ref: string): Promise<boolean> {
    const r = await this.find(ref);
    const c = await this.controller(r.id);
    if (c.state === 'running') return false;
    if (c.state !== 'prepared') throw new CreateConfigError(`start: starting standalone container ${r.id.slice(0, 12)} again after it ran is not supported by shoal yet (run a new one)`, 501);
    const recs = this.records;
    try {
      if (r.config.network.mode === 'bridge') {
        const ports = assignHostPorts(r.config.ports, await this.opts.bridge.publishedPorts());
        const address = await this.opts.bridge.attach(r.id, netnsNameOf(r.id), ports.map((p) => ({ protocol: p.protocol, published: p.hostPort, target: p.port })));
        r.bridge = { address, gateway: await this.opts.bridge.gateway(), ports };
      }
      if (r.config.openStdin && !r.config.tty) {
        // The monitor makes the container's stdin this FIFO; we hold its write end from
        // before the start, so the container's open does not block and EOF is ours to give.
        const ex = await this.opts.executor();
        const fifo = join(ex.paths.task(r.id), 'stdin');
        await (await ex.monitor()).mkfifo([fifo]);
        const sock = new Socket({ fd: openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK), readable: false, writable: true });
        sock.on('error', () => {});
        this.stdins.set(r.id, sock);
      }
      if (r.config.tty) {
        const ex = await this.opts.executor();
        const relay = await TtyRelay.start({ dir: ex.paths.task(r.id), size: r.config.consoleSize });
        this.relays.set(r.id, relay);
        for (const w of this.waitersOf(r.id).terminal.splice(0)) w();
      }
      await c.start();
    } catch (err) {
      this.closeStdin(r.id);
      this.relays.get(r.id)?.close();
      this.relays.delete(r.id);
      if (r.bridge) { r.bridge = undefined; await this.opts.bridge.detach(r.id).catch(() => {}); }
      throw err;
    }
    r.starts++;
    recs.save(r);
    for (const w of this.waitersOf(r.id).started.splice(0)) w();
    this.watchExit(r.id, c);
    return true;
  }

  private watchExit(id: string, c: TaskController): void {
    void c.wait().then(async (exit) => {
      this.lastExit.set(id, exit);
      // Waiters first: `docker run` (without --rm) ends as soon as the exit is known.
      for (const w of this.waitersOf(id).exit.splice(0)) w(exit);
      const r = this.records.get(id);
      if (r?.bridge) {
        r.bridge = undefined;
        this.records.save(r);
        await this.opts.bridge.detach(id).catch((err) => this.opts.logger?.warn('standalone: could not detach from the bridge', { 'container.id': id, error: String(err) }));
      }
      if (r?.config.autoRemove) await this.remove(id, { force: true, volumes: true }).catch((err) => this.opts.logger?.warn('standalone: auto-remove failed', { 'container.id': id, error: String(err) }));
    }, () => {});
  }

  /** Resolves when `id` started (at once if it runs or ran); for attach before start. */
  async started(id: string): Promise<void> {
    const c = await this.controller(id);
    if (c.state !== 'prepared') return;
    await new Promise<void>((r) => this.waitersOf(id).started.push(r));
  }

  /**
   * Marks an attach stream reading container `id`'s output: a removal (`run --rm`)
   * waits until it is released (at most 2 s), so no line of a short run is lost.
   */
  hold(id: string): () => void {
    let release!: () => void;
    const p = new Promise<void>((r) => { release = r; });
    let set = this.holds.get(id);
    if (!set) { set = new Set(); this.holds.set(id, set); }
    set.add(p);
    return () => { release(); set!.delete(p); };
  }

  /** The write end of a running `-i` container's stdin (no terminal), until it was closed. */
  stdin(id: string): Socket | undefined { return this.stdins.get(id); }

  /** Closes container `id`'s stdin (EOF for the process; Docker's StdinOnce). */
  closeStdin(id: string): void {
    this.stdins.get(id)?.end();
    this.stdins.delete(id);
  }

  /**
   * The terminal relay of TTY container `id` as soon as it exists: called before the
   * start, it resolves before the process runs, so an attach made first (`docker run
   * -it` attaches, then starts, as Docker requires) reads the shell's first prompt.
   * Undefined when there is none (removed before it started, or the relay is gone).
   */
  async terminal(id: string): Promise<TtyRelay | undefined> {
    const c = await this.controller(id);
    if (c.state === 'prepared' && !this.relays.has(id)) await new Promise<void>((r) => this.waitersOf(id).terminal.push(r));
    return this.relays.get(id);
  }

  /** The terminal relay of a running TTY container. */
  relay(id: string): TtyRelay | undefined { return this.relays.get(id); }

  /** The executor's controller of a standalone container (logs, state). */
  controllerOf(id: string): Promise<TaskController> { return this.controller(id); }

  /**
   * `DELETE /containers/{id}`: a running container only with `force` (killed first);
   * `volumes`: its anonymous volumes go too. Resolves `removed` waiters.
   */
  async remove(ref: string, opts: { force?: boolean; volumes?: boolean }): Promise<void> {
    const r = await this.find(ref);
    const inflight = this.removing.get(r.id);
    if (inflight) return inflight;
    const c = await this.controller(r.id);
    if (c.state === 'running' && !opts.force) {
      throw new ContainerConflictError(`You cannot remove a running container ${r.id}. Stop the container before attempting removal or force remove`);
    }
    const p = (async () => {
      if (c.state === 'running') await c.terminate();
      // Attach calls still waiting for a start that will never come: wake them (they see the state).
      for (const w of this.waitersOf(r.id).started.splice(0)) w();
      for (const w of this.waitersOf(r.id).terminal.splice(0)) w();
      const held = [...(this.holds.get(r.id) ?? [])];
      if (held.length) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([Promise.all(held), new Promise((res) => { timer = setTimeout(res, HOLD_MAX_MS); })]);
        clearTimeout(timer);
      }
      this.holds.delete(r.id);
      await c.remove();
      this.closeStdin(r.id);
      this.relays.get(r.id)?.close();
      this.relays.delete(r.id);
      if (r.bridge || r.config.network.mode === 'bridge') await this.opts.bridge.detach(r.id).catch(() => {});
      if (r.overlay) {
        await this.opts.attachments?.()?.detach(r.id).catch((err) => this.opts.logger?.warn('standalone: could not end the network attachment; the leader keeps its task until it is told', { 'container.id': r.id, error: String(err) }));
      }
      if (opts.volumes) {
        for (const v of r.anonymousVolumes) await this.opts.volumes.remove(v, []).catch(() => {});
      }
      this.records.delete(r.id);
      const exit = this.lastExit.get(r.id) ?? c.record?.exit ?? { exitCode: 0, oomKilled: false };
      this.lastExit.delete(r.id);
      const w = this.waitersOf(r.id);
      this.waiters.delete(r.id);
      for (const fn of w.exit.splice(0)) fn(exit);
      for (const fn of w.removed.splice(0)) fn(exit);
      this.opts.logger?.info('standalone container removed', { 'container.id': r.id, name: r.name });
    })();
    this.removing.set(r.id, p);
    try { await p; } finally { this.removing.delete(r.id); }
  }

  /** `POST /containers/{id}/rename`. */
  async rename(ref: string, newName: string): Promise<void> {
    const r = await this.find(ref);
    const n = checkName(newName);
    if (n === r.name) throw new ContainerConflictError(`Renaming a container with the same name as its current name`);
    if (this.records.byName(n) || this.opts.nameTaken(n)) throw new ContainerConflictError(`Conflict. The container name "/${n}" is already in use. You have to remove (or rename) that container to be able to reuse that name.`);
    r.name = n;
    this.records.save(r);
  }

  /** `POST /containers/{id}/update`: memory, CPUs and PIDs limits, applied to the running container's cgroup by the runtime. */
  async update(ref: string, body: unknown): Promise<{ Warnings: string[] }> {
    const r = await this.find(ref);
    const next = checkUpdate(body, r.config.resources);
    const c = await this.controller(r.id);
    if (c.state === 'running') {
      const ex = await this.opts.executor();
      await ex.runtime.update(r.id, next);
    }
    r.config = { ...r.config, resources: next };
    this.records.save(r);
    return { Warnings: [] };
  }

  /** `POST /containers/prune`: removes every standalone container that is not running (never task containers). */
  async prune(keep: (r: StandaloneRecord, createdAt: string) => boolean): Promise<{ ContainersDeleted: string[]; SpaceReclaimed: number }> {
    const deleted: string[] = [];
    if (!this.any) return { ContainersDeleted: deleted, SpaceReclaimed: 0 };
    const ex = await this.opts.executor();
    for (const r of this.records.all()) {
      const c = ex.list().find((x) => x.cid === r.id);
      if (!c || c.state === 'running' || keep(r, c.record?.createdAt ?? '')) continue;
      await this.remove(r.id, { force: false }).then(() => deleted.push(r.id), () => {});
    }
    return { ContainersDeleted: deleted, SpaceReclaimed: 0 };
  }

  /**
   * Daemon stop: terminal relays end (their containers keep running, as task containers
   * do) and an idle default bridge is removed.
   */
  async close(): Promise<void> {
    for (const r of this.relays.values()) r.close();
    this.relays.clear();
    for (const id of [...this.stdins.keys()]) this.closeStdin(id);
    await this.opts.bridge.close().catch((err) => this.opts.logger?.warn('standalone: could not remove the idle bridge', { error: String(err) }));
  }
}

function pick<T>(xs: T[]): T { return xs[randomBytes(1)[0] % xs.length]; }

function readText(path: string): string {
  try { return readFileSync(path, 'utf8'); } catch { return ''; }
}

/** `02:42:` + the IPv4 address, as Docker and the gateway bridge make MACs. */
function macOf(ip: string): string {
  return ['02', '42', ...ip.split('.').map((n) => Number(n).toString(16).padStart(2, '0'))].join(':');
}

/** Docker's EndpointSettings of the container's network. */
function endpoint(r: StandaloneRecord): Record<string, unknown> {
  const o = r.overlay;
  const b = r.bridge ?? (o ? { address: o.address, gateway: o.gateway } : undefined);
  return {
    IPAMConfig: null, Links: [], Aliases: o ? [r.name, r.id.slice(0, 12)] : [], NetworkID: o?.networkId ?? r.config.network.mode, EndpointID: b ? r.id.slice(0, 32) : '',
    Gateway: b?.gateway ?? '', IPAddress: b?.address ?? '', IPPrefixLen: o ? o.prefixLen : b ? 16 : 0, IPv6Gateway: '', GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0, MacAddress: b ? macOf(b.address) : '', DriverOpts: null,
  };
}

export type { StandaloneConfig };
