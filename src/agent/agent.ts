/**
 * The worker agent of one node (DESIGN plane 3): it takes the assignments the leader
 * sends over the session, drives one executor controller per task one state per step
 * (ASSIGNED → ACCEPTED → PREPARING (pull the image, prepare the container) → READY →
 * STARTING → RUNNING → COMPLETE | FAILED; desired state past running → SHUTDOWN; left
 * the set or desired `remove` → container removed), and reports each new state in
 * batches. Its tasks and their observed states are kept on disk
 * (`<data-root>/swarm/agent/tasks.json`), so a restarted daemon carries on with the
 * containers the executor re-adopted instead of starting new ones.
 *
 *   const agent = await Agent.open({ nodeId, dataRoot, executor, images, description, logger });
 *   agent.setReporter((updates) => session.sendStatus(updates));
 *   session = new Session({ …, onAssignments: (f) => agent.assign(f) });
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeDescription } from '../api/types/node.ts';
import type { PortConfig } from '../api/types/service.ts';
import { isAttachmentTask, isTerminal, type Task, type TaskState, type TaskStatus } from '../api/types/task.ts';
import { wantsToRun } from '../common/task-state.ts';
import type { SessionFrame, TaskStatusUpdate } from '../wire/types.ts';
import type { Logger } from '../common/logger.ts';
import type { Executor } from './exec/executor.ts';
import type { TaskController } from './exec/controller.ts';
import { containerSpecOf } from './task-spec.ts';
import { PayloadStore, missingPayloads, taskFiles, type PayloadIndex } from './secrets.ts';
import type { TaskFile } from './exec/types.ts';
import type { NodeNetworkView } from '../wire/network-view-types.ts';
import type { ExitStatus } from './exec/types.ts';
import { healthOf, unhealthyError, untilHealth } from './task-health.ts';
import type { OutOfRotation } from './network/rotation.ts';

/** What the agent needs of the node's network data plane (`network/network-agent.ts`). */
export interface AgentNetworking {
  setView(view: NodeNetworkView): void;
  /** The task's netns and resolv.conf, made before its container; undefined: the task has no networks. */
  attach(task: Task): Promise<{ netnsPath: string; resolvConf: string; hostPorts?: { protocol: 'tcp' | 'udp'; published: number; target: number }[] } | undefined>;
  /**
   * Where `attach` will put the task's netns and what its resolv.conf holds, without making
   * anything yet; undefined exactly when `attach` would make nothing. Optional: with it the
   * agent prepares the container (rootfs, bundle) while the netns is being made, instead of
   * after; the container starts only once `attach` resolved.
   */
  plan?(task: Task): Promise<{ netnsPath: string; resolvConf: string } | undefined>;
  /** The task ended: its endpoints go. Idempotent. */
  detach(taskId: string): Promise<void>;
  /**
   * Resolves once the leader's views leave the task out of every DNS answer, VIP rotation
   * and routing-mesh backend list: `cluster` when every node applied one, `local` when only
   * this node is known to have, false when not even this one did within `timeoutMs`.
   * Optional: without it the agent drains for a fixed time.
   */
  outOfRotation?(task: Task, timeoutMs: number): Promise<OutOfRotation>;
  /** The leader's view watermark: every node with a session applied views of at least this generation. */
  watermark?(generation: number): void;
  /** Calls `fn` with the generation of every leader view applied here (also one with nothing to apply). */
  onViewApplied?(fn: (generation: number) => void): void;
  close(): Promise<void>;
  removeAll(): Promise<void>;
}

/** What the agent needs of the image store. */
export interface AgentImages {
  /** Throws when the image is not present. */
  resolveForRun(ref: string): Promise<unknown>;
  pull(ref: string): Promise<unknown>;
}

export interface AgentOptions {
  nodeId: string;
  /** The daemon's data root; the agent keeps its state under `swarm/agent/`. */
  dataRoot: string;
  /** The executor, made and restored on first use (the agent asks for it as soon as a task is assigned). */
  executor: () => Promise<Executor>;
  images: AgentImages;
  description: () => NodeDescription;
  logger: Logger;
  /** How long status changes gather before one report goes out, ms (default 20). */
  reportDelayMs?: number;
  /** The overlay data plane; absent: tasks get a netns with only `lo`. */
  networking?: AgentNetworking;
  /**
   * The margin, ms, a task in rotation keeps running after this node applied a network
   * view without it, before its stop signal (default 250): the leader takes the task out
   * of every DNS answer, VIP rotation and mesh backend list in the commit that stops it
   * (or that records it unhealthy) and sends every node its new view at once; this node
   * having applied it shows the view went out, and the margin covers the other nodes'
   * apply (one include through an `nft -i` ≈ 5 ms per table). See {@link AgentOptions.drainMaxMs}.
   */
  drainMs?: number;
  /**
   * The longest a task in rotation waits for that view before its stop signal anyway, ms
   * (default 2000: Docker's own fixed wait, `defaultGossipConvergeDelay`, between leaving
   * the load balancers and the stop signal). The stop grace period starts after it.
   */
  drainMaxMs?: number;
}

/** One task as the agent knows it. */
interface AgentTask {
  task: Task;
  /** The observed status (the agent's own; only moves forward). */
  status: TaskStatus;
  /** Left the assignment set: stop and remove the container, then forget the task. */
  removed: boolean;
  /** Resolves when the task changes (new desired state, removal, agent closing). */
  changed: Promise<void>;
  wake: () => void;
  running: boolean;
  /** Host-mode ports as published on this node (reported in the status's PortStatus). */
  hostPorts?: PortConfig[];
}

type AssignmentFrame = Extract<SessionFrame, { type: 'assignments' }>;

/** A network attachment made on this node: its task (addresses) and the netns its container joins. */
export interface AttachedNetwork {
  task: Task;
  netnsPath: string;
  resolvConf: string;
}

/**
 * Callers waiting for network attachments by task ID. A made attachment is kept for late
 * callers until it ends; a failure goes to the callers waiting at that moment only (a
 * later caller waits for the next outcome, so no stale error outlives its task).
 */
class AttachmentWaiters {
  private readonly made = new Map<string, AttachedNetwork>();
  private readonly waiting = new Map<string, Set<(r: AttachedNetwork | Error) => void>>();

  settle(taskId: string, r: AttachedNetwork | Error): void {
    if (r instanceof Error) this.made.delete(taskId);
    else this.made.set(taskId, r);
    const fns = this.waiting.get(taskId);
    this.waiting.delete(taskId);
    for (const fn of fns ?? []) fn(r);
  }

  wait(taskId: string, timeoutMs: number): Promise<AttachedNetwork> {
    const have = this.made.get(taskId);
    if (have) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const fns = this.waiting.get(taskId) ?? this.waiting.set(taskId, new Set()).get(taskId)!;
      const fn = (r: AttachedNetwork | Error) => {
        clearTimeout(timer);
        if (r instanceof Error) reject(r);
        else resolve(r);
      };
      const timer = setTimeout(() => {
        fns.delete(fn);
        if (fns.size === 0 && this.waiting.get(taskId) === fns) this.waiting.delete(taskId);
        reject(new Error(`agent: network attachment ${taskId} was not made within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref?.();
      fns.add(fn);
    });
  }

  /** The agent closes: every caller still waiting gets `err`. */
  closeAll(err: Error): void {
    for (const taskId of [...this.waiting.keys()]) this.settle(taskId, err);
    this.made.clear();
  }
}

const REPORT_DELAY_MS = 20;
const DRAIN_MS = 250;
const DRAIN_MAX_MS = 2000;

export class Agent {
  private readonly tasks = new Map<string, AgentTask>();
  private readonly unreported = new Set<string>();
  private reporter: (updates: TaskStatusUpdate[]) => boolean = () => false;
  private reportTimer?: NodeJS.Timeout;
  /** The pending report goes at once (a task started running), not after `REPORT_DELAY_MS`. */
  private reportUrgent = false;
  private persistQueued = false;
  private closed = false;
  private readonly file: string;
  /** Secrets and configs of this node's tasks, as the leader sent them: memory only. */
  private readonly payloads = new PayloadStore();

  private constructor(private readonly opts: AgentOptions) {
    this.file = join(opts.dataRoot, 'swarm', 'agent', 'tasks.json');
  }

  /** Loads the tasks kept on disk and resumes driving them. */
  static async open(opts: AgentOptions): Promise<Agent> {
    const agent = new Agent(opts);
    let saved: { task: Task; status: TaskStatus }[] = [];
    try {
      saved = JSON.parse(readFileSync(agent.file, 'utf8')) as typeof saved;
    } catch {
      // no state yet
    }
    if (saved.length > 0) await opts.executor();
    for (const s of saved) agent.track(s.task, s.status);
    return agent;
  }

  /** Where status reports go; it returns false when they could not be sent (they are sent again later). */
  setReporter(fn: (updates: TaskStatusUpdate[]) => boolean): void {
    this.reporter = fn;
  }

  /** Applies an assignments frame from the leader. */
  assign(frame: AssignmentFrame): void {
    if (this.closed) return;
    // Before the tasks: a task in this frame may need what it carries.
    this.payloads.apply(frame);
    const incoming = new Set(frame.tasks.map((t) => t.ID));
    if (frame.full) {
      for (const [id, at] of this.tasks) if (!incoming.has(id)) this.markRemoved(at);
    }
    for (const id of frame.removed) {
      const at = this.tasks.get(id);
      if (at) this.markRemoved(at);
    }
    for (const t of frame.tasks) {
      const at = this.tasks.get(t.ID);
      if (!at) {
        this.track(t, t.Status);
        continue;
      }
      at.task = t;
      at.removed = false;
      this.changed(at);
    }
    // A new session: the leader may have missed reports; tell it everything again.
    if (frame.full) for (const id of this.tasks.keys()) this.unreported.add(id);
    this.scheduleReport();
    this.schedulePersist();
  }

  /** The tasks this node runs now (for `docker info`-like counts and tests). */
  list(): { task: Task; status: TaskStatus }[] {
    return [...this.tasks.values()].map((at) => ({ task: at.task, status: at.status }));
  }

  /** The secrets and configs held (names and IDs only, never data). */
  payloadIndex(): PayloadIndex {
    return this.payloads.index();
  }

  /** Stops driving tasks; containers keep running (a restarted daemon re-adopts them). */
  close(): void {
    this.closed = true;
    clearTimeout(this.reportTimer);
    this.attachments.closeAll(new Error('agent: closed before the network attachment was made'));
    for (const at of this.tasks.values()) at.wake();
    void this.opts.networking?.close().catch((err) => this.opts.logger.warn('agent: could not close the network data plane', { error: err }));
  }

  /** The leader's network view for this node. */
  setNetworkView(view: NodeNetworkView): void {
    if (this.closed) return;
    this.opts.networking?.setView(view);
  }

  /** The leader's view watermark (see `view-watermark.ts`): a stopping task waits for it. */
  setNetworkWatermark(generation: number): void {
    if (this.closed) return;
    this.opts.networking?.watermark?.(generation);
  }

  /** Where to acknowledge each applied network view (the session to the leader); replaces the previous one. */
  setViewAcknowledger(ack: (generation: number) => void): void {
    if (!this.viewAck) this.opts.networking?.onViewApplied?.((generation) => this.viewAck?.(generation));
    this.viewAck = ack;
  }

  private viewAck?: (generation: number) => void;

  /** Leaving the swarm: stops and removes every task's container, and forgets them all. */
  async removeAll(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reportTimer);
    const ex = this.tasks.size ? await this.opts.executor() : undefined;
    for (const at of this.tasks.values()) {
      at.wake();
      const c = ex?.list().find((x) => x.spec.taskId === at.task.ID);
      await c?.remove().catch((err) => this.opts.logger.warn('agent: could not remove a container', { 'task.id': at.task.ID, error: err }));
    }
    this.tasks.clear();
    this.payloads.clear();
    this.persistNow();
    await this.opts.networking?.removeAll().catch((err) => this.opts.logger.warn('agent: could not remove the network data plane', { error: err }));
  }

  // ---- task lifecycle --------------------------------------------------------------

  private track(task: Task, status: TaskStatus): void {
    // The executor is made and restored (runtime state, records, the monitor) while the
    // task's image and networks are, not after them on its way to the first container.
    if (!isAttachmentTask(task) && !isTerminal(status.State)) {
      void this.opts.executor().catch((err) => this.opts.logger.debug('agent: the executor could not open yet', { error: err }));
    }
    const at = { task, status, removed: false, running: false } as AgentTask;
    this.resetChanged(at);
    this.tasks.set(task.ID, at);
    this.unreported.add(task.ID);
    void this.drive(at);
  }

  private resetChanged(at: AgentTask): void {
    at.changed = new Promise<void>((r) => (at.wake = r));
  }

  private changed(at: AgentTask): void {
    const wake = at.wake;
    this.resetChanged(at);
    wake();
  }

  private markRemoved(at: AgentTask): void {
    if (at.removed) return;
    at.removed = true;
    this.changed(at);
  }

  /** The task's worker: one step at a time until the task is forgotten or the agent closes. */
  private async drive(at: AgentTask): Promise<void> {
    if (at.running) return;
    at.running = true;
    try {
      while (!this.closed && this.tasks.get(at.task.ID) === at) {
        const changed = at.changed;
        let more: boolean;
        try {
          more = await this.step(at, changed);
        } catch (err) {
          this.opts.logger.warn('agent: task step failed', { 'task.id': at.task.ID, state: at.status.State, error: err });
          more = false;
        }
        if (!more) await changed;
      }
    } finally {
      at.running = false;
    }
  }

  /** One step; true when another can follow at once, false to wait for a change of the task. */
  private async step(at: AgentTask, changed: Promise<void>): Promise<boolean> {
    const { task } = at;
    const state = at.status.State;
    const stop = at.removed || !wantsToRun(task.DesiredState);
    if (isAttachmentTask(task)) return this.stepAttachment(at, stop);
    if (stop) {
      const c = await this.existing(task);
      if (c && c.state === 'running') {
        // Out of every rotation before the stop signal; the stop grace then serves in-flight requests.
        if (state === 'running' && task.NetworksAttachments?.length) await this.drain(task);
        await c.shutdown();
      } else if (c?.state === 'prepared') {
        await c.shutdown(); // an early-created process must not outlive the task's stop
      }
      if (!isTerminal(state)) this.setStatus(at, 'shutdown', 'shutdown');
      await this.releaseNetworks(task);
      if (at.removed || task.DesiredState === 'remove') {
        await c?.remove();
        if (at.removed) this.forget(at);
      }
      return false;
    }
    switch (state) {
      case 'new':
      case 'allocated':
      case 'pending':
      case 'assigned':
        this.setStatus(at, 'accepted', 'accepted');
        return true;
      case 'accepted':
        this.setStatus(at, 'preparing', 'preparing');
        return true;
      case 'preparing':
        // Secrets and configs come only from the leader, never from disk: a restarted
        // worker waits for the session's whole set (which wakes every task) first.
        if (!this.payloads.hasSynced && missingPayloads(task, this.payloads).length) return false;
        try {
          const t0 = performance.now();
          await this.ensureImage(task.Spec.ContainerSpec.Image);
          const tImage = performance.now();
          const files = taskFiles(task, { ID: this.opts.nodeId, Description: this.opts.description() }, this.payloads);
          const { net, ms } = await this.attachAndPrepare(task, files);
          if (net?.hostPorts?.length) {
            at.hostPorts = net.hostPorts.map((p) => ({ Protocol: p.protocol, TargetPort: p.target, PublishedPort: p.published, PublishMode: 'host' }));
          }
          this.opts.logger.debug('agent: task prepared', { 'task.id': task.ID, 'ms.image': Math.round(tImage - t0), 'ms.network': Math.round(ms.network), 'ms.container': Math.round(ms.container), ms: Math.round(performance.now() - t0) });
        } catch (err) {
          this.setStatus(at, 'rejected', 'preparing', (err as Error).message);
          await this.releaseNetworks(task);
          return false;
        }
        this.setStatus(at, 'ready', 'prepared');
        return true;
      case 'ready':
        // Desired `ready`: a restart delay runs; start once the leader says `running`.
        if (task.DesiredState === 'ready') return false;
        this.setStatus(at, 'starting', 'starting');
        return true;
      case 'starting': {
        const c = await this.controller(task);
        try {
          await c.start();
        } catch (err) {
          this.setStatus(at, 'failed', 'starting', (err as Error).message);
          await this.releaseNetworks(task);
          return false;
        }
        if (c.state === 'exited') {
          await this.reportExit(at, c, await c.wait());
          return false;
        }
        // Docker's rule: a container with a health check is `running` once it is healthy;
        // until then the task stays `starting` (out of every rotation, not up for the updater).
        const health = healthOf(c)?.Status;
        if (health === 'starting') {
          if (!at.status.ContainerStatus) this.setStatus(at, 'starting', 'starting', undefined, c);
          await untilHealth(c, (s) => s !== 'starting', Promise.race([changed, c.wait()]));
          return true;
        }
        if (health === 'unhealthy') {
          await this.failUnhealthy(at, c);
          return false;
        }
        this.setStatus(at, 'running', 'started', undefined, c);
        return true;
      }
      case 'running': {
        const c = await this.controller(task);
        if (c.state === 'new' || c.state === 'prepared') {
          this.setStatus(at, 'failed', 'container gone', 'the container of this task no longer exists');
          return false;
        }
        const sick = untilHealth(c, (s) => s === 'unhealthy', Promise.race([changed, c.wait()])).then((s) => (s ? 'unhealthy' as const : undefined));
        const exit = await Promise.race([c.wait(), changed.then(() => undefined), sick]);
        if (!exit) return true;
        if (exit === 'unhealthy') {
          await this.failUnhealthy(at, c);
          return false;
        }
        await this.reportExit(at, c, exit);
        return false;
      }
      default:
        return false;
    }
  }

  /**
   * A network attachment task (a standalone container's endpoint, `swarm/attachment-tasks.ts`):
   * no container, only its netns on the network, which the container then joins. `running`
   * once made; desired past running or left the set: detached, `shutdown`.
   */
  private async stepAttachment(at: AgentTask, stop: boolean): Promise<boolean> {
    const { task } = at;
    if (stop) {
      await this.releaseNetworks(task);
      this.attachments.settle(task.ID, new Error(`agent: the network attachment ${task.ID} ended`));
      if (!isTerminal(at.status.State)) this.setStatus(at, 'shutdown', 'detached');
      if (at.removed) this.forget(at);
      return false;
    }
    if (isTerminal(at.status.State)) return false;
    try {
      // Idempotent: after a restart this finds the netns the network agent re-adopted.
      const net = await this.opts.networking?.attach(task);
      if (!net) throw new Error('this node has no overlay data plane');
      this.attachments.settle(task.ID, { task, ...net });
      if (at.status.State !== 'running') this.setStatus(at, 'running', 'attached');
    } catch (err) {
      this.attachments.settle(task.ID, err as Error);
      this.setStatus(at, 'rejected', 'attaching', (err as Error).message);
      await this.releaseNetworks(task);
    }
    return false;
  }

  /**
   * Resolves with the netns of network attachment task `taskId` once this node made it
   * (the task may not even be assigned yet); rejects when that fails or after `timeoutMs`.
   */
  attachment(taskId: string, timeoutMs: number): Promise<AttachedNetwork> {
    return this.attachments.wait(taskId, timeoutMs);
  }

  private readonly attachments = new AttachmentWaiters();

  /**
   * The task's networks attached and its container prepared. When the data plane says
   * beforehand where the netns will be (`plan`), both run side by side: the rootfs mount
   * and bundle need only the netns's path (runc opens it at start), so the container is
   * ready when the netns is. Otherwise (or without networks) one after the other. A
   * container prepared for a task whose attach failed (or made the netns elsewhere) is removed again. `ms`: when each
   * part ended, after the start.
   */
  private async attachAndPrepare(task: Task, files: { secrets: TaskFile[]; configs: TaskFile[] }): Promise<{ net: Awaited<ReturnType<AgentNetworking['attach']>>; ms: { network: number; container: number } }> {
    const nw = this.opts.networking;
    const t0 = performance.now();
    const planned = nw?.plan ? await nw.plan(task) : undefined;
    if (!nw || !planned) {
      const net = await nw?.attach(task);
      const network = performance.now() - t0;
      await (await this.controller(task, net, files)).prepare();
      return { net, ms: { network, container: performance.now() - t0 } };
    }
    const ms = { network: 0, container: 0 };
    const attaching = nw.attach(task).finally(() => (ms.network = performance.now() - t0));
    const preparing = this.controller(task, planned, files).then(async (c) => { await c.prepare(); return c; }).finally(() => (ms.container = performance.now() - t0));
    const [a, p] = await Promise.allSettled([attaching, preparing]);
    if (a.status === 'fulfilled' && p.status === 'fulfilled' && a.value?.netnsPath === planned.netnsPath) return { net: a.value, ms };
    // The task will not run: a container prepared for it goes, whichever part failed.
    if (p.status === 'fulfilled') await p.value.remove().catch((err) => this.opts.logger.warn('agent: could not remove the container of a task whose attach failed', { 'task.id': task.ID, error: err }));
    if (a.status === 'rejected') throw a.reason;
    if (p.status === 'rejected') throw p.reason;
    throw new Error(`agent: assertion: task ${task.ID} was attached in ${a.value?.netnsPath ?? 'no netns'}, not the planned ${planned.netnsPath}`);
  }

  private async ensureImage(ref: string): Promise<void> {
    try {
      await this.opts.images.resolveForRun(ref);
    } catch {
      await this.opts.images.pull(ref);
    }
  }

  private async controller(task: Task, net?: { netnsPath: string; resolvConf: string }, files?: { secrets: TaskFile[]; configs: TaskFile[] }): Promise<TaskController> {
    const ex = await this.opts.executor();
    let spec = containerSpecOf(task, { ID: this.opts.nodeId, Description: this.opts.description() });
    if (files?.secrets.length) spec = { ...spec, secrets: files.secrets };
    if (files?.configs.length) spec = { ...spec, configs: files.configs };
    return ex.controller(net ? { ...spec, netnsPath: net.netnsPath, resolvConf: net.resolvConf } : spec);
  }

  /** The container exited on its own: `complete` for 0, else `failed` with Docker's error. */
  private async reportExit(at: AgentTask, c: TaskController, exit: ExitStatus): Promise<void> {
    const code = exit.exitCode;
    if (code === 0) this.setStatus(at, 'complete', 'finished', undefined, c);
    else this.setStatus(at, 'failed', 'started', `task: non-zero exit (${code})${exit.oomKilled ? ' (OOM killed)' : ''}`, c);
    await this.releaseNetworks(at.task);
  }

  /**
   * The health check says unhealthy: report it (a running task leaves every rotation with
   * that report), drain, stop the container with its grace period, and fail the task with
   * Docker's error, so the restart policy replaces it.
   */
  private async failUnhealthy(at: AgentTask, c: TaskController): Promise<void> {
    this.opts.logger.warn('agent: task unhealthy, stopping it', { 'task.id': at.task.ID, 'service.id': at.task.ServiceID });
    const wasRunning = at.status.State === 'running';
    this.setStatus(at, at.status.State, 'unhealthy', undefined, c);
    if (wasRunning && at.task.NetworksAttachments?.length) await this.drain(at.task);
    await c.shutdown();
    const exit = await c.wait();
    this.setStatus(at, 'failed', 'started', unhealthyError(exit.exitCode), c);
    await this.releaseNetworks(at.task);
  }

  /**
   * Before a task in rotation gets its stop signal: waits until every node applied a view
   * without it (at most `drainMaxMs`). When only this node is known to have (a leader
   * without view acknowledgements, or a node slow to acknowledge), `drainMs` more for the
   * others (see the options).
   */
  private async drain(task: Task): Promise<void> {
    const max = this.opts.drainMaxMs ?? DRAIN_MAX_MS;
    const margin = this.opts.drainMs ?? DRAIN_MS;
    const t0 = Date.now();
    const applied: OutOfRotation = this.opts.networking?.outOfRotation ? await this.opts.networking.outOfRotation(task, max).catch(() => false as const) : false;
    if (applied === 'cluster') return;
    if (!applied) this.opts.logger.debug('agent: no view without the task applied in time; stopping it anyway', { 'task.id': task.ID });
    const left = Math.min(margin, Math.max(0, max - (Date.now() - t0)));
    if (left > 0) await new Promise<void>((r) => setTimeout(r, left));
  }

  /** The task ended: its network endpoints go (the netns, veths, DNS sockets, host ports). */
  private async releaseNetworks(task: Task): Promise<void> {
    await this.opts.networking?.detach(task.ID).catch((err) => this.opts.logger.warn('agent: could not detach a task from its networks', { 'task.id': task.ID, error: err }));
  }

  /** The task's controller if a container was ever made for it (never creates one). */
  private async existing(task: Task): Promise<TaskController | undefined> {
    const ex = await this.opts.executor();
    return ex.list().find((c) => c.spec.taskId === task.ID);
  }

  private setStatus(at: AgentTask, state: TaskState, message: string, err?: string, c?: TaskController): void {
    const status: TaskStatus = { Timestamp: new Date().toISOString(), State: state, Message: message };
    if (err) status.Err = err;
    const rec = c?.record;
    if (rec) status.ContainerStatus = { ContainerID: rec.cid, PID: rec.pid ?? 0, ExitCode: rec.exit?.exitCode ?? 0 };
    if (at.hostPorts) status.PortStatus = { Ports: at.hostPorts };
    const health = healthOf(c);
    if (health) status.Health = health;
    at.status = status;
    this.opts.logger.info('task state changed', { 'task.id': at.task.ID, 'service.id': at.task.ServiceID, state, ...(err ? { error: err } : {}) });
    this.unreported.add(at.task.ID);
    // A task that runs joins DNS and VIP rotations at the leader's next view: no coalescing wait.
    this.scheduleReport(state === 'running');
    this.schedulePersist();
  }

  private forget(at: AgentTask): void {
    this.tasks.delete(at.task.ID);
    this.unreported.delete(at.task.ID);
    this.schedulePersist();
  }

  // ---- reports and persistence ---------------------------------------------------

  private scheduleReport(urgent = false): void {
    if (this.closed) return;
    if (this.reportTimer) {
      if (!urgent || this.reportUrgent) return;
      clearTimeout(this.reportTimer);
    }
    this.reportUrgent = urgent;
    this.reportTimer = setTimeout(() => {
      this.reportTimer = undefined;
      this.reportUrgent = false;
      const updates: TaskStatusUpdate[] = [];
      for (const id of this.unreported) {
        const at = this.tasks.get(id);
        if (at) updates.push({ taskId: id, status: at.status });
      }
      if (updates.length === 0) return;
      if (this.reporter(updates)) this.unreported.clear();
    }, urgent ? 0 : this.opts.reportDelayMs ?? REPORT_DELAY_MS);
  }

  private schedulePersist(): void {
    if (this.persistQueued) return;
    this.persistQueued = true;
    setImmediate(() => {
      this.persistQueued = false;
      this.persistNow();
    });
  }

  private persistNow(): void {
    try {
      // Owner-only: task specs carry the services' environment.
      mkdirSync(join(this.file, '..'), { recursive: true, mode: 0o700 });
      const data = [...this.tasks.values()].map((at) => ({ task: at.task, status: at.status }));
      rmSync(`${this.file}.tmp`, { force: true });
      writeFileSync(`${this.file}.tmp`, JSON.stringify(data), { mode: 0o600 });
      renameSync(`${this.file}.tmp`, this.file);
    } catch (err) {
      this.opts.logger.warn('agent: could not save tasks', { error: err });
    }
  }
}
