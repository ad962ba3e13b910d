/**
 * One slot's supervision, shared by every orchestrator: stop duplicates, replace a task
 * whose node is gone, down, drained or no longer matching, restart a finished task per
 * its restart policy (the replacement waits in desired state `ready` until its delay
 * ends), and start a waiting replacement once its delay is over.
 */
import type { Node } from '../../api/types/node.ts';
import type { Service } from '../../api/types/service.ts';
import type { Task, TaskState } from '../../api/types/task.ts';
import type { Constraint } from '../../api/spec/constraint.ts';
import { ms, restartDecision, restartDelayMs, restartHistory } from './restart-policy.ts';
import { nodeVerdict, type SlotView } from './slots.ts';
import { withDesiredState } from '../../common/task-state.ts';
import { isTaskDirty } from './updater-view.ts';
import { wakeNoLaterThan, type ReconcileContext, type Reconciliation } from './types.ts';

export interface SuperviseOptions {
  service: Service;
  nodes: ReadonlyMap<string, Node>;
  constraints: readonly Constraint[];
  ctx: ReconcileContext;
  out: Reconciliation;
  /** Makes the replacement task for this slot (or node) with the given desired state. */
  replacement: (desired: TaskState) => Task;
  /** Jobs: tasks run to `complete`, and restart on failure by default. */
  job: boolean;
  /** Whether a task that must leave its node gets a replacement (replicated: yes; global: no, the node's slot just empties). */
  replaceOnNodeLoss: boolean;
  /** Whether a finished task may be restarted here (false for a global task on a paused node). */
  mayRestart: boolean;
}

/** What fills the slot after supervision. `declined`: a finished task the policy did not restart. */
export type SlotOutcome = { kind: 'running'; task: Task } | { kind: 'declined'; task: Task } | { kind: 'empty' };

function stop(t: Task, out: Reconciliation, desired: TaskState = 'shutdown'): void {
  if (t.DesiredState !== desired) out.update.push(withDesiredState(t, desired));
}

/** The desired state a started task of this mode has. */
function runState(job: boolean): TaskState {
  return job ? 'complete' : 'running';
}

/** Supervises one slot; pushes the changes into `o.out` and says what fills the slot now. */
export function supervise(view: SlotView, o: SuperviseOptions): SlotOutcome {
  const { out, ctx } = o;
  for (const t of view.extra) stop(t, out);
  const cur = view.current;
  if (cur) {
    for (const t of view.finished) stop(t, out);
    const verdict = cur.NodeID ? nodeVerdict(o.nodes.get(cur.NodeID), o.constraints) : 'ok';
    if (verdict !== 'ok') {
      stop(cur, out);
      if (!o.replaceOnNodeLoss) return { kind: 'empty' };
      const r = o.replacement(runState(o.job));
      out.create.push(r);
      return { kind: 'running', task: r };
    }
    if (cur.DesiredState === 'ready') {
      const at = ms(cur.CreatedAt) + restartDelayMs(cur.Spec?.RestartPolicy, o.job);
      if (ctx.now >= at) out.update.push(withDesiredState(cur, runState(o.job)));
      else wakeNoLaterThan(out, at);
    }
    return { kind: 'running', task: cur };
  }
  const dead = view.finished[0];
  if (!dead) return { kind: 'empty' };
  for (const t of view.finished.slice(1)) stop(t, out);

  // Made from another spec (the service was updated since): the updater's rules do not
  // hold a dead task back, its replacement takes the current spec at once.
  const outdated = isTaskDirty(o.service, dead);
  const verdict = dead.NodeID ? nodeVerdict(o.nodes.get(dead.NodeID), o.constraints) : 'ok';
  if (outdated || (verdict !== 'ok' && o.replaceOnNodeLoss)) {
    // Not the task's own doing (new spec, lost node): replace at once, whatever the policy.
    stop(dead, out);
    const r = o.replacement(runState(o.job));
    out.create.push(r);
    return { kind: 'running', task: r };
  }
  if (verdict !== 'ok') {
    stop(dead, out);
    return { kind: 'empty' };
  }
  if (!o.mayRestart) return { kind: 'declined', task: dead };
  const decision = restartDecision({
    policy: dead.Spec?.RestartPolicy,
    exit: dead.Status.State,
    endedAt: ms(dead.Status.Timestamp),
    restarts: restartHistory(view.all, dead),
    now: ctx.now,
    job: o.job,
  });
  if (!decision.restart) return { kind: 'declined', task: dead };
  stop(dead, out);
  const waits = decision.at > ctx.now;
  const r = o.replacement(waits ? 'ready' : runState(o.job));
  out.create.push(r);
  if (waits) wakeNoLaterThan(out, decision.at);
  return { kind: 'running', task: r };
}
