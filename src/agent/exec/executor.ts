/**
 * The executor of one daemon: hands out one TaskController per task, owns the
 * runtime state root, the monitor connection and the cgroup parent
 * (`/shoal-<name>`), and after a restart re-adopts what is still there.
 *
 *   const ex = new Executor({ name: 'n1', dataRoot, stateDir, images });
 *   await ex.restore();                 // once, before handing out controllers
 *   const c = ex.controller(taskSpec);  // same controller for the same task ID
 *   await c.prepare(); await c.start(); const exit = await c.wait(); await c.remove();
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { connectMonitor, type MonitorClient, type MonitorExit } from './monitor.ts';
import { OciRuntime, RuntimeError, runtimeRefusal } from './runtime.ts';
import { ExecPaths, containerIdOf, netnsNameOf } from './paths.ts';
import { TaskController, type TaskRecord } from './controller.ts';
import { realClock, type Clock } from './health.ts';
import { removeCgroup, monitorKernel, type KernelOps } from './kernel.ts';
import type { LogLimits } from './task-log.ts';
import { detectSandboxHost } from './sandbox-host.ts';
import { privateDir } from './private-fs.ts';
import { VolumeStore } from '../volumes/volume-store.ts';
import type { SandboxHost } from './sandbox.ts';
import type { ImageRunConfig, TaskContainerSpec } from './types.ts';

function readControllers(): string | undefined {
  try { return readFileSync('/sys/fs/cgroup/unified/cgroup.controllers', 'utf8'); } catch { return undefined; }
}

/** What the executor needs from the image store. */
export interface ImageProvider {
  /** Image ID, run config and unpacked layer directories (bottom-most first); throws when absent. */
  resolveForRun(ref: string): Promise<{ id: string; config: ImageRunConfig; layers: string[] }>;
}

/** A minimal logger (the daemon's, or none). */
export interface ExecLogger { info?(msg: string, fields?: Record<string, unknown>): void; warn?(msg: string, fields?: Record<string, unknown>): void }

/** Options of an Executor. */
export interface ExecutorOptions {
  /** Daemon name; the cgroup parent is `/shoal-<name>`. */
  name: string;
  /** Persistent data root (layers, upper dirs, logs, volumes). */
  dataRoot: string;
  /** Run-state dir (runtime root, monitor, task records, FIFOs, secret tmpfs). */
  stateDir: string;
  images: ImageProvider;
  /** `runc` (default) or `crun`. */
  runtime?: string;
  logLimits?: LogLimits;
  logger?: ExecLogger;
  clock?: Clock;
  /** Host facts for the sandbox; default detected (process.arch, uname -r, loaded AppArmor profiles). */
  sandboxHost?: SandboxHost;
  /** The node's volume store, which `volume` mounts go through; default one under `dataRoot`. */
  volumes?: VolumeProvider;
}

/** What the executor needs of the volume store: a volume's host path, made and mounted if needed. */
export interface VolumeProvider { ensure(name: string, ifNew?: { labels?: Record<string, string>; options?: Record<string, string> }): Promise<string> }

/** What controllers share (internal). */
export interface ExecutorContext {
  paths: ExecPaths;
  runtime: OciRuntime;
  images: ImageProvider;
  cgroupParent: string;
  logLimits?: LogLimits;
  logger?: ExecLogger;
  clock: Clock;
  monitor(): Promise<MonitorClient>;
  monitorPid(): number;
  emptyLayer(): string;
  forget(cid: string): void;
  kernel: KernelOps;
  /** Host facts the sandbox is built for (architecture, kernel, AppArmor profile). */
  sandboxHost: SandboxHost;
  volumes: VolumeProvider;
}

/** Outcome of restore(). */
export interface RestoreReport {
  /** Task IDs whose containers run and were adopted. */
  adopted: string[];
  /** Task IDs whose containers exited while the daemon was down. */
  exited: string[];
  /** Runtime containers or mounts without a record, removed. */
  orphansRemoved: string[];
  /** Task IDs whose container was created but not started: deleted, their start runs a new one. */
  discarded: string[];
}

/** One daemon's executor. */
export class Executor {
  readonly paths: ExecPaths;
  readonly runtime: OciRuntime;
  readonly cgroupParent: string;
  /** Mounts and netns, done inside the monitor. */
  readonly kernel: KernelOps;
  private readonly controllers = new Map<string, TaskController>();
  private monitorClient: MonitorClient | undefined;
  private monitorP: Promise<MonitorClient> | undefined;
  private readonly ctx: ExecutorContext;

  constructor(private readonly opts: ExecutorOptions) {
    const refusal = runtimeRefusal(opts.runtime ?? 'runc', readControllers());
    if (refusal) throw new RuntimeError(refusal);
    this.paths = new ExecPaths(opts.dataRoot, opts.stateDir);
    this.runtime = new OciRuntime({ binary: opts.runtime ?? 'runc', root: this.paths.runtimeRoot, exec: async (argv) => (await this.monitor()).exec(argv) });
    this.kernel = monitorKernel(() => this.monitor());
    this.cgroupParent = `/shoal-${opts.name}`;
    // Owner-only, existing folders too: records and bundles hold task environments.
    for (const d of [opts.stateDir, join(opts.stateDir, 'exec'), this.paths.runtimeRoot, this.paths.tasksDir, this.paths.monitorDir, join(opts.dataRoot, 'exec'), this.paths.containersDir]) privateDir(d);
    this.ctx = {
      paths: this.paths, runtime: this.runtime, images: opts.images, cgroupParent: this.cgroupParent,
      logLimits: opts.logLimits, logger: opts.logger, clock: opts.clock ?? realClock,
      monitor: () => this.monitor(), monitorPid: () => this.monitorClient?.pid ?? 0,
      emptyLayer: () => { const d = join(opts.dataRoot, 'exec', 'empty'); mkdirSync(d, { recursive: true }); return d; },
      forget: (cid) => this.controllers.delete(cid),
      kernel: this.kernel,
      sandboxHost: opts.sandboxHost ?? detectSandboxHost(),
      volumes: opts.volumes ?? new VolumeStore({ dataRoot: opts.dataRoot }),
    };
  }

  /** The monitor connection, (re)connecting or starting the monitor as needed. */
  async monitor(): Promise<MonitorClient> {
    if (this.monitorClient) return this.monitorClient;
    this.monitorP ??= connectMonitor(this.paths.monitorDir).then((m) => {
      this.monitorClient = m;
      m.on('exit', (e: MonitorExit) => this.controllers.get(e.id)?.onExit(e.status, e.pid));
      m.once('close', () => {
        this.monitorClient = undefined;
        this.monitorP = undefined;
        // Its containers are now children of init: watch them by PID (exit codes unknown).
        for (const c of this.controllers.values()) c.monitorLost();
      });
      return m;
    }, (e) => { this.monitorP = undefined; throw e; });
    return this.monitorP;
  }

  /** The controller of `spec.taskId` (the same object for the same task while it exists). */
  controller(spec: TaskContainerSpec): TaskController {
    const cid = containerIdOf(spec.taskId);
    let c = this.controllers.get(cid);
    if (!c) {
      c = new TaskController(this.ctx, spec, cid);
      this.controllers.set(cid, c);
    }
    return c;
  }

  /** Controllers currently known (prepared, running or exited). */
  list(): TaskController[] { return [...this.controllers.values()]; }

  /**
   * After a restart: reads the task records and the runtime's containers, adopts the
   * running ones (logs, health, exit watch), marks the ones that exited meanwhile
   * (status from the monitor's exit files), and removes runtime containers, mounts
   * and netns that no record claims. Call once before controller().
   */
  async restore(): Promise<RestoreReport> {
    const report: RestoreReport = { adopted: [], exited: [], orphansRemoved: [], discarded: [] };
    const monitor = await this.monitor();
    const states = new Map((await this.runtime.list()).map((s) => [s.id, s]));
    const records = new Map<string, TaskRecord>();
    for (const cid of readdirSync(this.paths.tasksDir)) {
      try { records.set(cid, JSON.parse(readFileSync(join(this.paths.task(cid), 'record.json'), 'utf8')) as TaskRecord); } catch { /* torn or none */ }
    }
    for (const [cid, rec] of records) {
      const c = new TaskController(this.ctx, rec.spec, cid, rec);
      this.controllers.set(cid, c);
      const st = states.get(cid);
      if (rec.state === 'running') {
        // An exit file of another PID is a created process discarded before this one ran.
        const recorded = monitor.recordedExit(cid);
        const exit = recorded && (!rec.pid || recorded.pid === rec.pid) ? recorded : undefined;
        if (st && (st.status === 'running' || st.status === 'paused') && !exit) {
          c.attachRunning();
          report.adopted.push(rec.taskId);
        } else {
          c.onExit(exit ? exit.status : -1);
          report.exited.push(rec.taskId);
        }
      } else if (rec.state === 'prepared' && (rec.created || st)) {
        // Created early but never started (or killed between `runc create` and the record):
        // discarded, so the replayed start runs exactly one new process.
        await c.discardCreated();
        report.discarded.push(rec.taskId);
      } else if (rec.state === 'new') {
        await c.remove();
      }
    }
    for (const [cid] of states) {
      if (records.has(cid)) continue;
      await this.runtime.delete(cid, true);
      removeCgroup(`${this.cgroupParent}/${cid}`);
      report.orphansRemoved.push(cid);
    }
    if (existsSync(this.paths.containersDir)) {
      for (const cid of readdirSync(this.paths.containersDir)) {
        if (records.has(cid)) continue;
        await this.kernel.unmount(this.paths.rootfs(cid));
        await this.kernel.deleteNetns(netnsNameOf(cid));
        rmSync(this.paths.container(cid), { recursive: true, force: true });
        if (!report.orphansRemoved.includes(cid)) report.orphansRemoved.push(cid);
      }
    }
    return report;
  }

  /** True when any controller uses image `id` (for image rm/prune). */
  imageInUse(id: string): boolean {
    return this.list().some((c) => c.record?.imageId === id);
  }

  /**
   * Detaches from the running containers (they keep running; a later daemon re-adopts them).
   * The monitor stays while they run; with none, it exits (`release`).
   */
  close(): void {
    for (const c of this.controllers.values()) c.detach();
    this.monitorClient?.release();
    this.monitorClient = undefined;
    this.monitorP = undefined;
  }

  /** Removes every container, stops the monitor and removes the cgroup parent. */
  async destroy(): Promise<void> {
    for (const c of [...this.controllers.values()]) await c.remove().catch(() => {});
    for (const s of await this.runtime.list().catch(() => [])) await this.runtime.delete(s.id, true).catch(() => {});
    const m = this.monitorClient;
    if (m) {
      const closed = new Promise((r) => m.once('close', r));
      m.quit();
      await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))]);
      m.close();
    }
    this.monitorClient = undefined;
    removeCgroup(this.cgroupParent);
  }
}
