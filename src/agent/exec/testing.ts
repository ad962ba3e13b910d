/**
 * An executor that runs nothing, for unit tests of what drives containers (the agent's
 * task state machine, standalone containers): controllers move through the states of
 * `TaskController` in memory, and the test says when a container exits (`exit`).
 */
import type { ContainerState } from './controller.ts';
import type { ExitStatus, TaskContainerSpec } from './types.ts';

type Health = 'starting' | 'healthy' | 'unhealthy';

/** A controller without a container: `prepare`, `start`, `exit`, `shutdown`/`terminate`, `remove`. */
export class FakeController {
  state: ContainerState = 'new';
  record?: { cid: string; pid: number; createdAt: string; exit?: ExitStatus };
  readonly cid: string;
  private waiters: ((e: ExitStatus) => void)[] = [];
  /** Health of a container whose spec has a check: `starting` from start, then what `setHealth` says. */
  healthStatus?: { status: Health; failingStreak: number };
  private healthListeners = new Set<(s: Health) => void>();
  /** Whether the container got a stop signal, and the task's reported state at that moment. */
  stoppedWhile?: string;
  constructor(readonly spec: TaskContainerSpec, private readonly ex: FakeExecutor) { this.cid = spec.taskId; }
  async prepare() { if (this.state === 'new') { this.state = 'prepared'; this.record = { cid: this.cid, pid: 0, createdAt: new Date().toISOString() }; } }
  async start() {
    if (this.state !== 'prepared') return;
    if (this.ex.beforeStart) await this.ex.beforeStart(this.cid);
    this.state = 'running'; this.record!.pid = 42; this.ex.starts++;
    if (this.spec.healthcheck) this.healthStatus = { status: 'starting', failingStreak: 0 };
  }
  onHealth(fn: (s: Health) => void) { this.healthListeners.add(fn); return () => this.healthListeners.delete(fn); }
  setHealth(status: 'healthy' | 'unhealthy') {
    this.healthStatus = { status, failingStreak: status === 'unhealthy' ? 3 : 0 };
    for (const fn of [...this.healthListeners]) fn(status);
  }
  async wait(): Promise<ExitStatus> {
    if (this.record?.exit) return this.record.exit;
    return new Promise((r) => this.waiters.push(r));
  }
  /** The container's process exits with `code`: waiters get it. */
  exit(code: number) {
    this.state = 'exited';
    this.record!.exit = { exitCode: code, oomKilled: false };
    for (const w of this.waiters.splice(0)) w(this.record!.exit);
  }
  async shutdown() { if (this.state === 'running') { this.stoppedWhile = this.ex.reportedState?.(this.spec.taskId); this.exit(137); } }
  async terminate() { if (this.state === 'running') this.exit(137); }
  async remove() { this.state = 'removed'; this.ex.controllers.delete(this.cid); }
}

/** The executor's face: one controller per task ID (made on first ask), its task paths. */
export class FakeExecutor {
  readonly controllers = new Map<string, FakeController>();
  /** How many containers started. */
  starts = 0;
  /** A task directory per container (nonexistent unless a test points it somewhere). */
  paths = { task: (id: string) => `/nonexistent/${id}` };
  /** The task's last reported status when a container is stopped (set by tests that check the order). */
  reportedState?: (taskId: string) => string;
  /** Runs as a container starts, before its process would run (set by tests that check the order). */
  beforeStart?: (cid: string) => Promise<void> | void;
  controller(spec: TaskContainerSpec) {
    let c = this.controllers.get(spec.taskId);
    if (!c) this.controllers.set(spec.taskId, (c = new FakeController(spec, this)));
    return c;
  }
  list() { return [...this.controllers.values()]; }
}
