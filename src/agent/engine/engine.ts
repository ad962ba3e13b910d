/**
 * This node's task containers as a Docker engine sees them: list, inspect, logs, top,
 * stats, and the actions wait, kill, stop and restart. It reads the executor (records,
 * bundles, logs) and the agent (tasks); it acts only through the task's controller or
 * the executor's monitor, so an exit caused here is seen by the agent like any other:
 * reported to the manager as Docker reports it (`complete`, or `failed` with
 * `task: non-zero exit (137)`), and the service's restart policy replaces the task.
 *
 *   const engine = new NodeEngine({ executor: () => ex, tasks: () => agent.list() });
 *   engine.list({ all: true, filters: new Map([['label', ['com.docker.swarm.service.name=web']]]) });
 */
import { readFileSync, readdirSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import type { Task } from '../../api/types/task.ts';
import type { Executor } from '../exec/executor.ts';
import type { TaskController } from '../exec/controller.ts';
import type { LogEntry, LogSelect } from '../exec/log-framer.ts';
import type { ExitStatus } from '../exec/types.ts';
import { signalNumber } from '../exec/monitor.ts';
import { containerName, type BundleProcess, type ContainerView } from './view.ts';
import { inspectOf, summaryOf } from './shapes.ts';
import { selectContainers } from './filters.ts';
import { statsDocument, type RawSample } from './stats.ts';
import { cgroupPids, readSample } from './cgroup-sample.ts';
import { top, type TopResult } from './top.ts';

/** No container matches the reference (404, Docker's message). */
export class NoSuchContainerError extends Error {
  override readonly name = 'NoSuchContainerError';
  readonly retryable = false;
  constructor(ref: string) { super(`No such container: ${ref}`); }
}

/** The container is not in a state that allows the request (409, Docker's message). */
export class ContainerConflictError extends Error {
  override readonly name = 'ContainerConflictError';
  readonly retryable = false;
  constructor(message: string) { super(message); }
}

/** A container, found: its view and controller. */
export interface FoundContainer { view: ContainerView; controller: TaskController }

/**
 * The standalone containers' part (`docker run`, see `standalone/`): their Docker name,
 * the fields of their Docker shape only they have, and the actions that differ for them.
 * A container for which `name` answers undefined is a task container.
 */
export interface StandaloneHooks {
  /** The Docker name of container `cid` when it is a standalone one. */
  name(cid: string): string | undefined;
  /** The networks of standalone container `cid` (`bridge`, `host` or `none`). */
  networks(cid: string): string[];
  /** Completes a `docker ps` row or `docker inspect` document of a standalone container (in place). */
  decorate(cid: string, doc: Record<string, unknown>, kind: 'summary' | 'inspect'): void;
  /** Docker's wait (`not-running`, `next-exit`, `removed`) of a standalone container. */
  wait(cid: string, condition: string): Promise<ExitStatus>;
  /** Stops and starts a standalone container again. */
  restart(cid: string, timeoutS?: number): Promise<void>;
}

/** Where the engine gets its containers. */
export interface NodeEngineOptions {
  /** Standalone containers (undefined: none on this node). */
  standalone?: () => StandaloneHooks | undefined;
  /** The node's executor when it exists (no tasks ever ran here: undefined, an empty list). */
  executor: () => Executor | undefined;
  /** The agent's tasks (empty when the node is in no swarm). */
  tasks: () => { task: Task }[];
  /** Exec session IDs of a container (from the exec manager). */
  execIds?: (cid: string) => string[];
  now?: () => number;
}

function readProcess(bundle: string): BundleProcess | undefined {
  try { return (JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as { process: BundleProcess }).process; } catch { return undefined; }
}

/** Bytes of regular files under `dir` (not following links); for `size=true`. */
function diskUsage(dir: string): number {
  let n = 0;
  let entries: string[];
  try { entries = readdirSync(dir); } catch { return 0; }
  for (const e of entries) {
    const p = join(dir, e);
    try {
      const st = lstatSync(p);
      if (st.isDirectory()) n += diskUsage(p);
      else if (st.isFile()) n += st.size;
    } catch { /* vanished */ }
  }
  return n;
}

/**
 * Docker's SizeRw (the container's own layer) and SizeRootFs (everything it sees: the
 * merged overlay, walked on the host, where the task's volumes are not mounted).
 */
function sizes(v: ContainerView): { rw: number; rootFs: number } {
  const rw = diskUsage(v.paths.upper);
  // An unmounted rootfs dir is empty: then the container's own layer is all we know.
  return { rw, rootFs: Math.max(rw, diskUsage(v.paths.rootfs)) };
}

/** The node's task containers, Docker-shaped. */
export class NodeEngine {
  private readonly now: () => number;
  /** Last stats sample per container (the next one-shot read's `precpu_stats`). */
  private readonly lastSample = new Map<string, RawSample>();
  /** Each container's bundle process, once read: config.json is written once, when the container is prepared. */
  private readonly processes = new Map<string, BundleProcess>();

  constructor(private readonly opts: NodeEngineOptions) {
    this.now = opts.now ?? Date.now;
  }

  private viewOf(c: TaskController, tasks: Map<string, Task>): ContainerView {
    const ex = this.opts.executor()!;
    const p = ex.paths;
    const cdir = p.container(c.cid);
    const tdir = p.task(c.cid);
    // The bundle is read on first use: find() makes a view of every container, and only
    // the one it returns may need its process (exec, inspect).
    const cache = this.processes;
    const read = (): BundleProcess | undefined => {
      if (c.state === 'new') return undefined;
      const hit = cache.get(c.cid);
      if (hit) return hit;
      const got = readProcess(p.bundle(c.cid));
      if (got) cache.set(c.cid, got);
      return got;
    };
    let proc: BundleProcess | undefined | null = null;
    return {
      cid: c.cid, spec: c.spec, state: c.state, record: c.record, task: tasks.get(c.spec.taskId),
      get process() { return proc === null ? (proc = read()) : proc; },
      paths: {
        rootfs: p.rootfs(c.cid), upper: join(cdir, 'upper'), work: join(cdir, 'work'), logFile: join(p.logs(c.cid), 'container.log'),
        hosts: join(tdir, 'hosts'), hostname: join(tdir, 'hostname'), resolvConf: join(tdir, 'resolv.conf'),
      },
      health: c.healthStatus, execIds: this.opts.execIds?.(c.cid) ?? [],
      name: this.opts.standalone?.()?.name(c.cid),
      standaloneNetworks: this.opts.standalone?.()?.networks(c.cid),
    };
  }

  private all(): FoundContainer[] {
    const ex = this.opts.executor();
    if (!ex) return [];
    const tasks = new Map(this.opts.tasks().map((t) => [t.task.ID, t.task]));
    const live = ex.list().filter((c) => c.state !== 'new' && c.state !== 'removed');
    const ids = new Set(live.map((c) => c.cid));
    for (const cid of this.processes.keys()) if (!ids.has(cid)) this.processes.delete(cid);
    return live.map((c) => ({ view: this.viewOf(c, tasks), controller: c }));
  }

  /** `docker ps` rows. Throws FilterError for a filter it cannot honour. */
  list(opts: { all?: boolean; limit?: number; size?: boolean; filters: Map<string, string[]> }): Record<string, unknown>[] {
    const views = selectContainers(this.all().map((f) => f.view), opts);
    const now = this.now();
    const sa = this.opts.standalone?.();
    return views.map((v) => {
      const doc = summaryOf(v, now, opts.size ? sizes(v) : undefined);
      if (v.name) sa?.decorate(v.cid, doc, 'summary');
      return doc;
    });
  }

  /** A container by full ID, full name (with or without `/`), or unique ID prefix (Docker's order). */
  find(ref: string): FoundContainer {
    const all = this.all();
    const name = ref.replace(/^\//, '');
    const exact = all.find((f) => f.view.cid === ref) ?? all.find((f) => containerName(f.view) === name);
    if (exact) return exact;
    const byPrefix = ref ? all.filter((f) => f.view.cid.startsWith(ref)) : [];
    if (byPrefix.length === 1) return byPrefix[0];
    if (byPrefix.length > 1) throw new ContainerConflictError(`multiple IDs found with provided prefix: ${ref}`);
    throw new NoSuchContainerError(ref);
  }

  /** `docker inspect`'s document (`size`: SizeRw and SizeRootFs too). */
  inspect(ref: string, opts: { size?: boolean } = {}): Record<string, unknown> {
    const { view } = this.find(ref);
    const ex = this.opts.executor()!;
    const doc = inspectOf(view, (n) => ex.paths.volume(n));
    if (opts.size) { const n = sizes(view); doc.SizeRw = n.rw; doc.SizeRootFs = n.rootFs; }
    if (view.name) this.opts.standalone?.()?.decorate(view.cid, doc, 'inspect');
    return doc;
  }

  /** Captured output (stored lines, then with `follow` new ones until the container exits or `signal` aborts). */
  logs(ref: string, opts: LogSelect & { follow?: boolean; signal?: AbortSignal }): AsyncGenerator<LogEntry> {
    return this.find(ref).controller.logs(opts);
  }

  private running(ref: string): FoundContainer {
    const f = this.find(ref);
    if (f.view.state !== 'running' || !f.view.record?.pid) throw new ContainerConflictError(`Container ${f.view.cid} is not running`);
    return f;
  }

  /** `docker top`: the container's processes as `ps` shows them. */
  async top(ref: string, psArgs?: string): Promise<TopResult> {
    const f = this.running(ref);
    return top(cgroupPids(f.view.record!.pid!), psArgs);
  }

  /** The container's init PID (running containers only). */
  pidOf(ref: string): { cid: string; pid: number; view: ContainerView } {
    const f = this.running(ref);
    return { cid: f.view.cid, pid: f.view.record!.pid!, view: f.view };
  }

  /**
   * One stats document; `pre` is the previous sample of a stream (a one-shot read uses
   * the last sample any reader took, or none). Undefined once the container stopped.
   */
  stats(ref: string, pre?: RawSample): { doc: Record<string, unknown>; sample: RawSample } | undefined {
    const f = this.find(ref);
    const pid = f.view.record?.pid;
    const sample = f.view.state === 'running' && pid ? readSample(pid) : undefined;
    if (!sample) return undefined;
    const prev = pre ?? this.lastSample.get(f.view.cid);
    this.lastSample.set(f.view.cid, sample);
    return { doc: statsDocument(sample, prev, { id: f.view.cid, name: containerName(f.view) }), sample };
  }

  /** Stats of a stopped container: Docker sends one document of zeros. */
  emptyStats(ref: string): Record<string, unknown> {
    const f = this.find(ref);
    const empty: RawSample = { version: 'v1', files: {}, procStat: '', netDev: '', hostMemory: 0, read: new Date(0) };
    return { ...statsDocument(empty, undefined, { id: f.view.cid, name: containerName(f.view) }), read: '0001-01-01T00:00:00Z' };
  }

  /** Sends `signal` (name or number; default SIGKILL) to the container's init process. */
  async kill(ref: string, signal = 'SIGKILL'): Promise<void> {
    const f = this.running(ref);
    const ex = this.opts.executor()!;
    const sig = signalNumber(signal);
    const ok = await (await ex.monitor()).kill(f.view.cid, sig);
    if (!ok) await ex.runtime.kill(f.view.cid, String(sig));
  }

  /**
   * Stops the container with its stop signal and `timeoutS` (default the task's grace
   * period) before SIGKILL. False when it was not running (Docker answers 304).
   */
  async stop(ref: string, timeoutS?: number): Promise<boolean> {
    const f = this.find(ref);
    if (f.view.state !== 'running') return false;
    await f.controller.shutdown(timeoutS === undefined || timeoutS < 0 ? {} : { graceMs: timeoutS * 1000 });
    return true;
  }

  /**
   * A task container is never started again in place: restart stops it, and the
   * service's restart policy starts a new task in its slot (as Docker's swarm does
   * after `docker restart` of a task container).
   */
  async restart(ref: string, timeoutS?: number): Promise<void> {
    const { view } = this.find(ref);
    if (view.name) return this.opts.standalone!()!.restart(view.cid, timeoutS);
    await this.stop(ref, timeoutS);
  }

  /**
   * Docker's wait: `not-running` (default) resolves at once for a stopped container,
   * `next-exit` waits for the next exit; the exit status after the log drained.
   */
  async wait(ref: string, condition = 'not-running'): Promise<ExitStatus> {
    const f = this.find(ref);
    if (f.view.name) return this.opts.standalone!()!.wait(f.view.cid, condition);
    if (condition === 'next-exit' && f.view.state !== 'running') throw new ContainerConflictError(`Container ${f.view.cid} is not running`);
    if (condition !== 'not-running' && condition !== 'next-exit') throw new ContainerConflictError(`wait condition ${condition} is not supported by shoal for task containers`);
    return f.controller.wait();
  }
}
