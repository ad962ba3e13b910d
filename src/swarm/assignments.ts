/**
 * What a node is told about its tasks, as a pure diff (SwarmKit's dispatcher rules):
 * a node's assignment set holds the tasks the scheduler gave it (NodeID = node, observed
 * state assigned or later), whatever their desired state, until they are deleted from
 * the store. A task is (re)sent when it enters the set or its desired state changes;
 * status changes the node reported itself are not echoed back.
 *
 * The secrets and configs of those tasks travel in the same frames, ahead of the tasks
 * (SwarmKit's dependency rules): a node holds exactly those referenced by its tasks
 * that have not ended (observed state at most running); once the last such task ends
 * or leaves the set, they are withdrawn.
 */
import { TASK_STATES, type Task } from '../api/types/task.ts';
import { assertForward, TaskStateError } from '../common/task-state.ts';
import type { Config, Secret } from '../api/types/secret-config.ts';
import type { SessionFrame } from '../wire/types.ts';

const ASSIGNED = TASK_STATES.indexOf('assigned');
const RUNNING = TASK_STATES.indexOf('running');

/** Reads secrets and configs by ID (a store view); absent: the frames carry none. */
export interface PayloadLookup {
  secret(id: string): Secret | undefined;
  config(id: string): Config | undefined;
}

/** The secret and config IDs a task needs while it has not ended; none once it has. */
export function taskDependencies(task: Task): { secrets: string[]; configs: string[] } {
  if (TASK_STATES.indexOf(task.Status.State) > RUNNING) return { secrets: [], configs: [] };
  const c = task.Spec.ContainerSpec;
  return {
    secrets: (c?.Secrets ?? []).map((r) => r.SecretID).filter(Boolean),
    configs: (c?.Configs ?? []).map((r) => r.ConfigID).filter(Boolean),
  };
}

/** Whether `task` belongs in the assignment set of `nodeId`. */
export function isAssignedTo(task: Task, nodeId: string): boolean {
  return task.NodeID === nodeId && TASK_STATES.indexOf(task.Status.State) >= ASSIGNED;
}

type AssignmentFrame = Extract<SessionFrame, { type: 'assignments' }>;

/**
 * The assignment set as last sent to one node. Owned by one session; not shared.
 * Invariant: `sent` holds exactly the task IDs the node was told about, each with the
 * desired state it was last sent with.
 */
export class AssignmentSet {
  private readonly sent = new Map<string, string>();
  /** Per task in the set: the secret and config IDs it needs now. */
  private readonly deps = new Map<string, { secrets: string[]; configs: string[] }>();
  /** Secret and config IDs the node holds (sent and not withdrawn). */
  private readonly heldSecrets = new Set<string>();
  private readonly heldConfigs = new Set<string>();

  constructor(readonly nodeId: string) {}

  /** The whole set (first frame of a session); `tasks` may hold tasks of other nodes, which are skipped. */
  full(tasks: Iterable<Task>, lookup?: PayloadLookup): AssignmentFrame {
    this.sent.clear();
    this.deps.clear();
    this.heldSecrets.clear();
    this.heldConfigs.clear();
    const out: Task[] = [];
    for (const t of tasks) {
      if (!isAssignedTo(t, this.nodeId)) continue;
      this.sent.set(t.ID, t.DesiredState);
      this.deps.set(t.ID, taskDependencies(t));
      out.push(t);
    }
    return { type: 'assignments', full: true, tasks: out, removed: [], ...this.payloadChanges(lookup) };
  }

  /** Brings the held secrets and configs in line with what the set's tasks need: additions with their data, withdrawals by ID. */
  private payloadChanges(lookup: PayloadLookup | undefined): Required<Pick<AssignmentFrame, 'secrets' | 'configs' | 'removedSecrets' | 'removedConfigs'>> {
    const needSecrets = new Set<string>();
    const needConfigs = new Set<string>();
    for (const d of this.deps.values()) {
      for (const id of d.secrets) needSecrets.add(id);
      for (const id of d.configs) needConfigs.add(id);
    }
    const secrets: Secret[] = [];
    const configs: Config[] = [];
    const removedSecrets = [...this.heldSecrets].filter((id) => !needSecrets.has(id));
    const removedConfigs = [...this.heldConfigs].filter((id) => !needConfigs.has(id));
    for (const id of removedSecrets) this.heldSecrets.delete(id);
    for (const id of removedConfigs) this.heldConfigs.delete(id);
    if (lookup) {
      for (const id of needSecrets) {
        if (this.heldSecrets.has(id)) continue;
        const o = lookup.secret(id);
        // Gone from the store (removed after its last service stopped naming it): the task fails on the node.
        if (!o) continue;
        this.heldSecrets.add(id);
        secrets.push(o);
      }
      for (const id of needConfigs) {
        if (this.heldConfigs.has(id)) continue;
        const o = lookup.config(id);
        if (!o) continue;
        this.heldConfigs.add(id);
        configs.push(o);
      }
    }
    return { secrets, configs, removedSecrets, removedConfigs };
  }

  /** Secret and config IDs the node holds now (for tests and debugging; never data). */
  held(): { secrets: string[]; configs: string[] } {
    return { secrets: [...this.heldSecrets].sort(), configs: [...this.heldConfigs].sort() };
  }

  /**
   * The incremental frame for tasks that changed (`current`: their state now, undefined
   * when deleted), or undefined when the node need not hear about it.
   */
  diff(changes: Iterable<{ id: string; current: Task | undefined }>, lookup?: PayloadLookup): AssignmentFrame | undefined {
    const tasks: Task[] = [];
    const removed: string[] = [];
    for (const { id, current } of changes) {
      const had = this.sent.get(id);
      if (current && isAssignedTo(current, this.nodeId)) {
        this.deps.set(id, taskDependencies(current));
        if (had === current.DesiredState) continue;
        this.sent.set(id, current.DesiredState);
        tasks.push(current);
      } else if (had !== undefined) {
        this.sent.delete(id);
        this.deps.delete(id);
        removed.push(id);
      }
    }
    const p = this.payloadChanges(lookup);
    const payloads = p.secrets.length || p.configs.length || p.removedSecrets.length || p.removedConfigs.length;
    if (!tasks.length && !removed.length && !payloads) return undefined;
    return { type: 'assignments', full: false, tasks, removed, ...(payloads ? p : {}) };
  }

  get size(): number {
    return this.sent.size;
  }
}

/**
 * The task after a node's status report, or undefined when the report changes nothing
 * or must be ignored: the task is gone or not this node's, the report repeats the
 * stored status, or it would move the state backward (a stale or reordered report).
 */
export function reportedTask(task: Task | undefined, nodeId: string, status: Task['Status']): Task | undefined {
  if (!task || task.NodeID !== nodeId || !status || typeof status.State !== 'string') return undefined;
  if (!TASK_STATES.includes(status.State)) return undefined;
  try {
    assertForward(task.Status.State, status.State);
  } catch (err) {
    if (err instanceof TaskStateError) return undefined;
    throw err;
  }
  const s = task.Status;
  if (s.State === status.State && s.Message === status.Message && s.Err === status.Err && s.ContainerStatus?.ExitCode === status.ContainerStatus?.ExitCode
    && s.Health?.Status === status.Health?.Status) return undefined;
  return { ...task, Status: { ...status } };
}
