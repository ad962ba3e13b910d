/**
 * The agent of a simulated node (pure): it runs no containers, it only answers the
 * leader's assignments with the task states a real agent would report, one state per
 * step (SwarmKit's controller rule), so the dispatcher sees the same write pattern as
 * from real nodes: `preparing` on the first step, `running` on the next; a task whose
 * desired state went to shutdown (or later) is reported `shutdown`. Tasks the leader
 * withdraws are forgotten. Time comes in as an argument.
 */
import type { SessionFrame, TaskStatusUpdate } from '../../src/wire/types.ts';
import type { TaskState } from '../../src/api/types/task.ts';
import { TASK_STATES } from '../../src/api/types/task.ts';

type AssignmentFrame = Extract<SessionFrame, { type: 'assignments' }>;

const RUNNING = TASK_STATES.indexOf('running');
const SHUTDOWN = TASK_STATES.indexOf('shutdown');

interface Held {
  /** The state last reported (or the one the leader gave when nothing was reported yet). */
  state: TaskState;
  desired: TaskState;
}

/** What one simulated node holds of its tasks. Owned by one node; not shared. */
export class AgentStub {
  private readonly tasks = new Map<string, Held>();

  /** Takes an assignments frame (a full one replaces the whole set). */
  assign(frame: AssignmentFrame): void {
    if (frame.full) {
      const keep = new Set(frame.tasks.map((t) => t.ID));
      for (const id of [...this.tasks.keys()]) if (!keep.has(id)) this.tasks.delete(id);
    }
    for (const id of frame.removed) this.tasks.delete(id);
    for (const t of frame.tasks) {
      const held = this.tasks.get(t.ID);
      // A full set (a new session) says what the leader stored: a report lost with the old
      // connection is made again. A change keeps what this node already reported.
      const ahead = held && !frame.full && TASK_STATES.indexOf(held.state) > TASK_STATES.indexOf(t.Status.State);
      const state = ahead ? held.state : t.Status.State;
      this.tasks.set(t.ID, { state, desired: t.DesiredState });
    }
  }

  /**
   * Moves every task that has somewhere to go one state forward and returns the reports
   * to send (empty when all tasks are settled). `now` is ms since the epoch.
   */
  step(now: number): TaskStatusUpdate[] {
    const out: TaskStatusUpdate[] = [];
    const ts = new Date(now).toISOString();
    for (const [id, h] of this.tasks) {
      const next = nextState(h);
      if (!next) continue;
      h.state = next;
      out.push({ taskId: id, status: { Timestamp: ts, State: next, Message: next } });
    }
    return out;
  }

  /** Tasks in `running` as last reported. */
  get running(): number {
    let n = 0;
    for (const h of this.tasks.values()) if (h.state === 'running') n++;
    return n;
  }

  /** Tasks held (any state). */
  get size(): number {
    return this.tasks.size;
  }

  /** Whether a step would report anything. */
  get busy(): boolean {
    for (const h of this.tasks.values()) if (nextState(h)) return true;
    return false;
  }
}

/** The state a task moves to on the next step, or undefined when it stays. */
function nextState(h: Held): TaskState | undefined {
  const at = TASK_STATES.indexOf(h.state);
  const desired = TASK_STATES.indexOf(h.desired);
  if (at >= SHUTDOWN || at > RUNNING) return undefined;
  if (desired >= SHUTDOWN) return 'shutdown';
  if (desired > RUNNING || at === RUNNING) return undefined;
  return at < TASK_STATES.indexOf('preparing') ? 'preparing' : 'running';
}
