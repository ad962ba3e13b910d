/**
 * The early create of a swarm task's container (`spec.createEarly`): `runc create` in the
 * background once the task's netns exists (the data plane makes it beside prepare), so the
 * namespaces, mounts and cgroups are set up while the task's network is still being wired
 * and start is only `runc start`. The created init is the monitor's child like a run one
 * (its exit is recorded). One per TaskController; the controller keeps the record.
 */
import { statSync } from 'node:fs';
import type { MonitorClient } from './monitor.ts';
import type { ExecutorContext } from './executor.ts';
import type { TaskRecord } from './controller.ts';

/** How long an early create waits for a netns being made elsewhere before leaving it to start. */
const NETNS_WAIT_MS = 60_000;
/** Poll period of that wait: one stat(2) per period. */
const NETNS_POLL_MS = 10;
/** How long discarding a created container waits for the monitor to report its process gone. */
const CREATED_EXIT_WAIT_MS = 5_000;

/** What the early create needs of its controller. */
export interface EarlyCreateHost {
  readonly cid: string;
  readonly ctx: ExecutorContext;
  /** The task's record (defined once prepared). */
  record(): TaskRecord;
  persist(): void;
  /** The container's stdout/stderr FIFOs. */
  fifos(): { stdout: string; stderr: string };
}

/** The background `runc create` of one task, and the discard of what it made. */
export class EarlyCreate {
  /** Never rejects: on any failure nothing is left and start runs the container as without it. */
  private creating: Promise<void> | undefined;
  private aborted = false;
  private startWanted = false;
  private exitWaiters: (() => void)[] = [];

  constructor(private readonly host: EarlyCreateHost) {}

  /** Starts the create (end of prepare). */
  begin(): void { this.creating = this.create(); }

  /** Whether prepare began one. */
  get begun(): boolean { return this.creating !== undefined; }

  /** Start is here: stops waiting for a netns that is still not there; resolves once a create in flight settled. */
  async settle(): Promise<void> {
    this.startWanted = true;
    await this.creating;
  }

  /** Remove is here: stops waiting, lets a create in flight settle, and discards what it made. */
  async abort(): Promise<void> {
    this.aborted = true;
    await this.creating;
    if (this.host.record()?.created) await this.discard().catch(() => {});
  }

  /**
   * The daemon detaches (shutdown): stops waiting for the netns, so no timer holds the process
   * and no create starts after the executor closed; resolves once a create in flight settled.
   * A container it made stays: the next daemon's restore discards it.
   */
  async stop(): Promise<void> {
    this.aborted = true;
    await this.creating;
  }

  /** The monitor reported the exit of `pid` while the task was prepared. */
  exited(pid: number): void {
    if (pid === this.host.record()?.pid) for (const w of this.exitWaiters.splice(0)) w();
  }

  private async create(): Promise<void> {
    const { ctx, cid } = this.host;
    const rec = this.host.record();
    try {
      if (!(await this.untilNetns(rec.netnsPath))) return;
      const monitor = await ctx.monitor();
      const io = this.host.fifos();
      await monitor.mkfifo([io.stdout, io.stderr]);
      if (this.aborted) return;
      const pid = await ctx.runtime.create(monitor, cid, ctx.paths.bundle(cid), io);
      rec.pid = pid;
      rec.monitorPid = monitor.pid;
      rec.created = true;
      this.host.persist();
    } catch (e) {
      ctx.logger?.info?.('exec: early create failed, start runs the container', { 'task.id': rec.taskId, error: String(e) });
      await ctx.runtime.delete(cid, true).catch(() => {});
    }
  }

  /**
   * Until `path` is a netns (an nsfs mount, not the empty file it is bound on): false when
   * removed meanwhile, when start comes and it is still not one, or after NETNS_WAIT_MS.
   */
  private async untilNetns(path: string): Promise<boolean> {
    const nsfs = statSync('/proc/self/ns/net').dev;
    const deadline = Date.now() + NETNS_WAIT_MS;
    for (;;) {
      if (this.aborted) return false;
      try { if (statSync(path).dev === nsfs) return true; } catch { /* not made yet */ }
      if (this.startWanted || Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, NETNS_POLL_MS));
    }
  }

  /**
   * The created process still waits in the netns now at the task's path, under this monitor.
   * False for a netns made again meanwhile (a data plane cleaning a leftover) or a monitor
   * that is not its parent any more (its exit code would be lost): discard it instead.
   */
  usable(monitor: MonitorClient): boolean {
    const rec = this.host.record();
    if (!rec.created || !rec.pid || rec.monitorPid !== monitor.pid) return false;
    try {
      const want = statSync(rec.netnsPath);
      const got = statSync(`/proc/${rec.pid}/ns/net`);
      return want.dev === got.dev && want.ino === got.ino;
    } catch { return false; }
  }

  /**
   * Kills and deletes the container the create made (never started), waiting for the monitor
   * to record its process's exit, so nothing of it is left. Also after a restart (restore),
   * where start then runs a new one: one process per task, never two.
   */
  async discard(): Promise<void> {
    const { ctx, cid } = this.host;
    const rec = this.host.record();
    if (rec.created && rec.pid) {
      const gone = new Promise<void>((r) => this.exitWaiters.push(r));
      const monitor = await ctx.monitor().catch(() => undefined);
      if (monitor && rec.monitorPid === monitor.pid && await monitor.kill(cid, 'SIGKILL')) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([gone, new Promise((r) => { timer = setTimeout(r, CREATED_EXIT_WAIT_MS); })]);
        clearTimeout(timer);
      }
      this.exitWaiters = [];
    }
    await ctx.runtime.delete(cid, true);
    rec.created = false;
    rec.pid = undefined;
    rec.monitorPid = undefined;
    this.host.persist();
  }
}
