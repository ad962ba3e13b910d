/**
 * The controller of one task's container, driven by the agent one state per call,
 * as SwarmKit's `exec.Controller`: prepare → start → wait → shutdown/terminate →
 * remove. Every call is idempotent: calling a step the container is already past
 * does nothing, so a restarted agent can replay them on an adopted container
 * without duplicating it.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { buildSpec, taskHostname } from './spec.ts';
import { findInit, ociDevices } from './devices.ts';
import { readUserFiles, refuseBlockingUserFiles, resolveUser } from './users.ts';
import { oomKills, removeCgroup, isMounted } from './kernel.ts';
import { TaskLog, readLogs } from './task-log.ts';
import { HealthMonitor, type HealthStatus } from './health.ts';
import { decodeWaitStatus } from './monitor.ts';
import { EarlyCreate } from './early-create.ts';
import { netnsNameOf } from './paths.ts';
import { copyUp } from '../volumes/copy-up.ts';
import { privateDir, writePrivateFile } from './private-fs.ts';
import type { ExecutorContext } from './executor.ts';
import type { ExitStatus, ImageRunConfig, TaskContainerSpec, TaskFile } from './types.ts';
import type { LogEntry, LogSelect } from './log-framer.ts';

/** Where a container is in its life. Only moves forward. */
export type ContainerState = 'new' | 'prepared' | 'running' | 'exited' | 'removed';
const ORDER: ContainerState[] = ['new', 'prepared', 'running', 'exited', 'removed'];

/** What the executor persists per task (never secret or config payloads). */
export interface TaskRecord {
  taskId: string;
  cid: string;
  spec: TaskContainerSpec;
  imageId: string;
  image: ImageRunConfig;
  state: ContainerState;
  /** Netns this executor made (removed with the task), or null when the caller passed one. */
  netns: string | null;
  netnsPath: string;
  cgroup: string;
  pid?: number;
  /** PID of the monitor that started it; another monitor cannot report its exit. */
  monitorPid?: number;
  /**
   * The runtime container exists, made by an early `runc create` (`spec.createEarly`), and
   * its process (`pid`) waits for `runc start`. Only while `prepared`.
   */
  created?: boolean;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  exit?: ExitStatus;
}

/** A step was asked of a container that cannot take it. */
export class ContainerStateError extends Error {
  override readonly name = 'ContainerStateError';
  readonly retryable = false;
  constructor(message: string) { super(`exec: ${message}`); }
}

/** Docker-ish view of one container. */
export interface ContainerInspect {
  id: string;
  taskId: string;
  state: ContainerState;
  pid?: number;
  imageId: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  exit?: ExitStatus;
  health?: { status: HealthStatus; failingStreak: number };
}

function stripPayloads(spec: TaskContainerSpec): TaskContainerSpec {
  const strip = (fs?: TaskFile[]) => fs?.map((f) => ({ ...f, data: Buffer.alloc(0) }));
  return { ...spec, secrets: strip(spec.secrets), configs: strip(spec.configs) };
}

/** One task's container. Created by Executor.controller(). */
export class TaskController {
  private rec: TaskRecord | undefined;
  private log: TaskLog | undefined;
  private health: HealthMonitor | undefined;
  /** Called on every change of the health status (the agent reports them). */
  private readonly healthListeners = new Set<(s: HealthStatus) => void>();
  private exitWaiters: ((s: ExitStatus) => void)[] = [];
  private rawWaiters: (() => void)[] = [];
  /**
   * Exits reported while `prepared` (the monitor's answer to run and the exit share one read),
   * wait status by PID: a discarded created process may be reaped after the new one.
   */
  private readonly earlyExits = new Map<number, number>();
  /** The `runc create` of prepare for swarm tasks (`spec.createEarly`). */
  private readonly early: EarlyCreate;
  private pollTimer: NodeJS.Timeout | undefined;

  constructor(private readonly ctx: ExecutorContext, readonly spec: TaskContainerSpec, readonly cid: string, record?: TaskRecord) {
    this.rec = record;
    this.early = new EarlyCreate({ cid, ctx, record: () => this.rec!, persist: () => this.persist(), fifos: () => this.fifos() });
  }

  /** Current state. */
  get state(): ContainerState { return this.rec?.state ?? 'new'; }
  /** Whether prepare began an early create (`spec.createEarly`, when the spec allows it). */
  get createsEarly(): boolean { return this.early.begun; }
  /** The persisted record (undefined before prepare). */
  get record(): TaskRecord | undefined { return this.rec; }

  private at(s: ContainerState): boolean { return ORDER.indexOf(this.state) >= ORDER.indexOf(s); }

  private setState(s: ContainerState): void {
    if (ORDER.indexOf(s) < ORDER.indexOf(this.state)) throw new Error(`exec: assertion: state ${this.state} → ${s} moves backwards`);
    this.rec!.state = s;
    this.persist();
    this.ctx.logger?.info?.('exec: container state', { 'task.id': this.spec.taskId, 'container.id': this.cid, state: s });
  }

  private persist(): void {
    const dir = privateDir(this.ctx.paths.task(this.cid));
    writePrivateFile(join(dir, 'record.json'), JSON.stringify(this.rec));
  }

  /** Resolves the image, mounts the rootfs, makes the netns and secret tmpfs, writes the bundle. */
  async prepare(): Promise<void> {
    if (this.at('prepared')) return;
    const { paths } = this.ctx;
    const cid = this.cid;
    const img = await this.ctx.images.resolveForRun(this.spec.image);
    // What the node itself must have (devices, a static tini): refused before anything is mounted or made.
    const devices = this.spec.devices?.length ? ociDevices(this.spec.devices, (p) => statSync(p, { bigint: true })) : undefined;
    const initPath = this.spec.init ? findInit(existsSync) : undefined;
    const cdir = paths.container(cid);
    const tdir = paths.task(cid);
    this.rec = {
      taskId: this.spec.taskId, cid, spec: stripPayloads(this.spec), imageId: img.id, image: img.config, state: 'new',
      netns: this.spec.netnsPath ? null : netnsNameOf(cid), netnsPath: this.spec.netnsPath ?? '',
      cgroup: `${this.ctx.cgroupParent}/${cid}`, createdAt: new Date().toISOString(),
    };
    try {
      for (const d of ['upper', 'work', 'rootfs']) mkdirSync(join(cdir, d), { recursive: true });
      privateDir(cdir);
      privateDir(paths.bundle(cid));
      this.persist();
      const lower = img.layers.length ? [...img.layers].reverse() : [this.ctx.emptyLayer()];
      if (!isMounted(paths.rootfs(cid))) await this.ctx.kernel.mountOverlay(paths.rootfs(cid), lower, join(cdir, 'upper'), join(cdir, 'work'));
      if (this.rec.netns) this.rec.netnsPath = await this.ctx.kernel.createNetns(this.rec.netns);
      const files = await this.writeFiles();
      const rootfs = paths.rootfs(cid);
      // Never through the overlay with readFileSync: a FIFO there would hang the daemon, a symlink read host files.
      const userFiles = readUserFiles(rootfs);
      refuseBlockingUserFiles(userFiles);
      const user = resolveUser(this.spec.user ?? img.config.User, userFiles);
      const hostname = taskHostname(this.spec, cid);
      writeFileSync(join(tdir, 'hostname'), `${hostname}\n`);
      writeFileSync(join(tdir, 'hosts'), ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', `127.0.1.1\t${hostname}`, ...(this.spec.hosts ?? [])].join('\n') + '\n');
      writeFileSync(join(tdir, 'resolv.conf'), this.spec.resolvConf ?? hostResolvConf());
      // Through the node's volume store: the same objects `docker volume ls` shows (made when absent, device mounted).
      for (const m of this.spec.mounts ?? []) {
        if (m.type !== 'volume' || !m.source) continue;
        const data = await this.ctx.volumes.ensure(m.source, { labels: m.volumeLabels, options: m.volumeDriverOptions });
        if (!m.volumeNoCopy) await copyUp(rootfs, m.target, data);
      }
      const spec = buildSpec(img.config, this.spec, {
        containerId: cid, rootfs, cgroupsPath: this.rec.cgroup, netnsPath: this.rec.netnsPath, user,
        volumePath: (n) => paths.volume(n), files, host: this.ctx.sandboxHost,
        ...(devices ? { devices } : {}), ...(initPath ? { initPath } : {}),
        etcFiles: { hosts: join(tdir, 'hosts'), hostname: join(tdir, 'hostname'), resolvConf: join(tdir, 'resolv.conf') },
      });
      writePrivateFile(join(paths.bundle(cid), 'config.json'), JSON.stringify(spec));
      this.setState('prepared');
      // Off the path of start: the netns of a swarm task is still being wired up meanwhile.
      // Not with `net.*` sysctls: runc writes them at create, and they must land after the
      // data plane's interfaces (an `eth0` key, `default` values), as they did at start.
      const netSysctls = Object.keys(this.spec.sysctls ?? {}).some((k) => k.startsWith('net.'));
      if (this.spec.createEarly && !this.spec.tty && !netSysctls) this.early.begin();
    } catch (e) {
      await this.cleanup().catch(() => {});
      this.rec = undefined;
      throw e;
    }
  }

  /** Secrets and configs on a per-task tmpfs (never on disk), one file each with uid/gid/mode. */
  private async writeFiles(): Promise<{ hostPath: string; target: string }[]> {
    const all = [
      ...(this.spec.secrets ?? []).map((f) => ({ f, base: '/run/secrets' })),
      ...(this.spec.configs ?? []).map((f) => ({ f, base: '/' })),
    ];
    if (all.length === 0) return [];
    const dir = this.ctx.paths.files(this.cid);
    mkdirSync(dir, { recursive: true });
    const size = all.reduce((n, { f }) => n + f.data.length + 4096, 64 * 1024);
    if (!isMounted(dir)) await this.ctx.kernel.mountTmpfs(dir, size);
    return all.map(({ f, base }, i) => {
      const hostPath = join(dir, String(i));
      writeFileSync(hostPath, f.data, { mode: 0o600 });
      chownSync(hostPath, f.uid ?? 0, f.gid ?? 0);
      chmodSync(hostPath, f.mode ?? 0o444); // exact mode, whatever the umask
      const target = posix.isAbsolute(f.target) ? f.target : posix.join(base, f.target || f.name);
      return { hostPath, target };
    });
  }

  private fifos(): { stdout: string; stderr: string } {
    const tdir = this.ctx.paths.task(this.cid);
    return { stdout: join(tdir, 'stdout'), stderr: join(tdir, 'stderr') };
  }

  /**
   * Deletes the container an early create made and never started (restore after a daemon
   * crash between create and start), so the replayed start runs exactly one process.
   */
  discardCreated(): Promise<void> { return this.early.discard(); }

  /** Starts the container; resolves once its process runs. */
  async start(): Promise<void> {
    if (this.at('running')) return;
    if (this.state !== 'prepared') throw new ContainerStateError(`start of ${this.cid} before prepare`);
    await this.early.settle();
    const { paths, runtime } = this.ctx;
    const monitor = await this.ctx.monitor();
    const io = this.fifos();
    if (this.rec!.created && !this.early.usable(monitor)) await this.early.discard();
    await monitor.mkfifo([io.stdout, io.stderr]);
    this.openLog();
    let pid: number;
    try {
      if (this.rec!.created) {
        pid = this.rec!.pid!;
        await runtime.start(monitor, this.cid, paths.bundle(this.cid));
      } else {
        // With a terminal, someone (standalone/tty-relay.ts) listens on console.sock for the pty master.
        pid = await runtime.run(monitor, this.cid, paths.bundle(this.cid), { ...io, ...(this.spec.tty ? { consoleSocket: join(paths.task(this.cid), 'console.sock') } : {}) });
      }
    } catch (e) {
      this.log?.detach();
      throw e;
    }
    this.rec!.pid = pid;
    this.rec!.monitorPid = monitor.pid;
    this.rec!.created = false;
    this.rec!.startedAt = new Date().toISOString();
    this.setState('running');
    this.attachRunning();
    const early = this.earlyExits.get(pid);
    this.earlyExits.clear();
    if (early !== undefined) this.onExit(early, pid);
  }

  private openLog(): void {
    const tdir = this.ctx.paths.task(this.cid);
    this.log = new TaskLog(this.ctx.paths.logs(this.cid), this.ctx.logLimits);
    try { this.log.attach({ stdout: join(tdir, 'stdout'), stderr: join(tdir, 'stderr') }); } catch { /* FIFOs gone: no logs */ }
  }

  /** Wires logs, health and exit detection to a running container (also after adoption). */
  attachRunning(): void {
    if (!this.log) this.openLog();
    const hc = this.spec.healthcheck ?? (this.rec!.image.Healthcheck?.Test ? {
      test: this.rec!.image.Healthcheck.Test, intervalMs: (this.rec!.image.Healthcheck.Interval ?? 0) / 1e6,
      timeoutMs: (this.rec!.image.Healthcheck.Timeout ?? 0) / 1e6, retries: this.rec!.image.Healthcheck.Retries,
      startPeriodMs: (this.rec!.image.Healthcheck.StartPeriod ?? 0) / 1e6,
    } : undefined);
    if (hc && hc.test[0] !== 'NONE') {
      this.health = new HealthMonitor(hc, async (argv, timeoutMs) => {
        const r = await this.ctx.runtime.exec(this.cid, argv, { timeoutMs });
        return { exitCode: r.code ?? -1, output: r.output };
      }, this.ctx.clock);
      this.health.on('status', (s: HealthStatus) => {
        this.ctx.logger?.info?.('exec: health', { 'task.id': this.spec.taskId, status: s });
        for (const fn of [...this.healthListeners]) fn(s);
      });
      this.health.start();
    }
    if (this.rec!.monitorPid !== this.ctx.monitorPid()) this.pollExit();
  }

  /**
   * The health of the container's check (`starting` until the first successful probe),
   * with its failing streak; the last one after an exit; undefined without a check (or
   * before the container started).
   */
  get healthStatus(): { status: HealthStatus; failingStreak: number } | undefined {
    const h = this.health;
    return h ? { status: h.state.status, failingStreak: h.state.failingStreak } : undefined;
  }

  /** Calls `fn` on every change of the health status until the returned function is called. */
  onHealth(fn: (s: HealthStatus) => void): () => void {
    this.healthListeners.add(fn);
    return () => this.healthListeners.delete(fn);
  }

  /** The monitor died: nobody reaps this container for us any more. */
  monitorLost(): void {
    if (this.state === 'running' && !this.pollTimer) this.pollExit();
  }

  /** When no monitor of ours is the container's parent: poll the PID; the exit code is unknown. */
  private pollExit(): void {
    const pid = this.rec!.pid!;
    this.pollTimer = setInterval(() => {
      try { process.kill(pid, 0); } catch { this.onExit(-1); }
    }, 200);
    this.pollTimer.unref();
  }

  /**
   * Called by the executor when the monitor reports the exit (raw wait status; -1 unknown),
   * with the PID that exited when known: the exit of another process of this ID (a created
   * one discarded) is not this container's.
   */
  onExit(waitStatus: number, pid?: number): void {
    if (this.state === 'prepared') {
      if (pid !== undefined) this.early.exited(pid);
      this.earlyExits.set(pid ?? 0, waitStatus);
      return;
    }
    if (this.state !== 'running') return;
    if (pid !== undefined && pid > 0 && this.rec!.pid && pid !== this.rec!.pid) return;
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.health?.stop();
    const d = waitStatus < 0 ? { exitCode: -1 } : decodeWaitStatus(waitStatus);
    const oom = oomKills(this.rec!.cgroup) > 0;
    const exit: ExitStatus = { exitCode: d.exitCode, oomKilled: oom, ...('signal' in d && d.signal ? { signal: d.signal } : {}) };
    this.rec!.exit = exit;
    this.rec!.finishedAt = new Date().toISOString();
    this.setState('exited');
    for (const w of this.rawWaiters.splice(0)) w();
    const log = this.log;
    void (log ? log.finish() : Promise.resolve()).then(() => { for (const w of this.exitWaiters.splice(0)) w(exit); });
  }

  /** Resolves with the exit status once the container exited and its log was drained (at once if it already has). */
  async wait(): Promise<ExitStatus> {
    if (this.state === 'new' || this.state === 'prepared') throw new ContainerStateError(`wait on ${this.cid} before start`);
    if (this.rec!.exit && (!this.log || this.log.ended)) return this.rec!.exit;
    return new Promise<ExitStatus>((r) => this.exitWaiters.push(r));
  }

  private async signal(sig: string): Promise<void> {
    const monitor = await this.ctx.monitor();
    const ok = await monitor.kill(this.cid, sig);
    if (!ok && this.state === 'running') await this.ctx.runtime.kill(this.cid, sig).catch(() => {});
  }

  /**
   * Stop signal, then SIGKILL after the grace period (ms; default the spec's, else 10 s).
   * A prepared task that never starts loses its early-created process (its cgroup and its
   * hold on the netns go too); its mounts stay for remove.
   */
  async shutdown(opts: { graceMs?: number } = {}): Promise<void> {
    if (this.state === 'prepared') return this.early.abort();
    if (this.state !== 'running') return;
    const grace = opts.graceMs ?? this.spec.stopGracePeriodMs ?? 10_000;
    const sig = this.spec.stopSignal || this.rec!.image.StopSignal || 'SIGTERM';
    const exited = new Promise<void>((r) => (this.state === 'running' ? this.rawWaiters.push(r) : r()));
    if (grace > 0) {
      await this.signal(sig);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => { timer = setTimeout(() => r(true), grace); })]);
      clearTimeout(timer);
      if (!timedOut) return;
    }
    await this.signal('SIGKILL');
    await exited;
  }

  /** SIGKILL now and wait for the exit. */
  async terminate(): Promise<void> {
    await this.shutdown({ graceMs: 0 });
  }

  /** Deletes the container and everything it had: runtime state, mounts, netns, cgroup, files, logs. */
  async remove(): Promise<void> {
    if (this.state === 'removed') return;
    if (this.state === 'running') await this.terminate();
    await this.cleanup();
    if (this.rec) this.rec.state = 'removed';
    this.ctx.forget(this.cid);
  }

  private async cleanup(): Promise<void> {
    const { paths, runtime } = this.ctx;
    await this.early.abort();
    this.health?.stop();
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.log?.detach();
    await runtime.delete(this.cid, true);
    await this.ctx.kernel.unmount(paths.rootfs(this.cid));
    await this.ctx.kernel.unmount(paths.files(this.cid));
    const netns = this.rec?.netns ?? (this.spec.netnsPath ? null : netnsNameOf(this.cid));
    if (netns) await this.ctx.kernel.deleteNetns(netns);
    removeCgroup(`${this.ctx.cgroupParent}/${this.cid}`);
    rmSync(paths.container(this.cid), { recursive: true, force: true });
    rmSync(paths.task(this.cid), { recursive: true, force: true });
    rmSync(join(paths.monitorDir, 'exits', this.cid), { force: true });
  }

  /** Captured output: stored lines, then (follow) new ones until the container exits. */
  logs(opts: LogSelect & { follow?: boolean; signal?: AbortSignal } = {}): AsyncGenerator<LogEntry> {
    return readLogs(this.ctx.paths.logs(this.cid), this.log, opts);
  }

  /** A snapshot of the container. */
  inspect(): ContainerInspect {
    const r = this.rec;
    return {
      id: this.cid, taskId: this.spec.taskId, state: this.state, pid: r?.pid, imageId: r?.imageId ?? '',
      createdAt: r?.createdAt ?? '', startedAt: r?.startedAt, finishedAt: r?.finishedAt, exit: r?.exit,
      ...(this.health ? { health: { status: this.health.state.status, failingStreak: this.health.state.failingStreak } } : {}),
    };
  }

  /** Stops reading logs and probing health; the container keeps running (daemon shutdown). */
  detach(): void {
    void this.early.stop();
    this.health?.stop();
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.log?.detach();
  }

  /** True when the rootfs is mounted (for restore checks). */
  hasRootfs(): boolean { return existsSync(this.ctx.paths.rootfs(this.cid)) && isMounted(this.ctx.paths.rootfs(this.cid)); }
}

function hostResolvConf(): string {
  let text = '';
  try { text = readFileSync('/etc/resolv.conf', 'utf8'); } catch { /* none */ }
  const lines = text.split('\n').filter((l) => l.trim() && !/^nameserver\s+127\./.test(l));
  return lines.join('\n') + '\n';
}
