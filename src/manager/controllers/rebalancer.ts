/**
 * The rebalancer controller (leader only; issue 22): runs the pure `planRebalance` for
 * every service and writes its moves. It follows the nodes to know since when each one
 * has been ready and active without a break (the settle time of the hysteresis), and
 * why it became so (`joined`, `returned from down`, `became active`) for the events.
 *
 * It only looks while there is a reason to: for `watchMs` after a node became eligible
 * (joined, returned, activated; or this manager became leader, since it may have missed
 * one), and while moves are in flight. Outside those windows a spread the user left
 * uneven (constraints changed, say) is not touched: the issue asks for rebalancing when
 * nodes come, not for a loop that second-guesses the scheduler forever.
 *
 * A move: the replacement task is created for the same slot, assigned to the target
 * node (the scheduler still checks it fits), labelled with the task it replaces, the
 * source node and the reason; stop-first stops the old task at once, start-first once
 * the replacement runs. Every move is logged at info and becomes a `rebalance` event of
 * the service (events-derive.ts).
 */
import type { Node } from '../../api/types/node.ts';
import type { Task } from '../../api/types/task.ts';
import type { MemoryStore, ObjectEvent } from '../../store/index.ts';
import type { Logger } from '../../common/logger.ts';
import { isTerminal } from '../../api/types/task.ts';
import { withDesiredState } from '../../common/task-state.ts';
import { newTask } from '../orchestrator/new-task.ts';
import {
  MOVED_FROM_LABEL, MOVED_FROM_NODE_LABEL, MOVE_REASON_LABEL, planRebalance, type RebalanceTiming,
} from '../orchestrator/rebalance.ts';
import { StoreController } from './store-controller.ts';

/** How long after a node became eligible the rebalancer keeps looking, ms. */
export const WATCH_MS = 15 * 60_000;

export interface RebalancerOptions {
  /** Wall clock, ms since the epoch (default Date.now). */
  now?: () => number;
  /** The rules' timing (default `DEFAULT_TIMING` of rebalance.ts). */
  timing?: Partial<RebalanceTiming>;
  /** How long after a node became eligible moves are considered, ms (default {@link WATCH_MS}). */
  watchMs?: number;
}

function eligible(n: Node | undefined): boolean {
  return !!n && n.Status?.State === 'ready' && n.Spec?.Availability === 'active';
}

/** How `n` became eligible, from its previous record (undefined: just created). */
function becameEligible(old: Node | undefined): string {
  if (!old || old.Status?.State === 'unknown') return 'joined';
  if (old.Status?.State === 'down' || old.Status?.State === 'disconnected') return 'returned from down';
  if (old.Spec?.Availability !== 'active') return 'became active';
  return 'became ready';
}

export class RebalancerController extends StoreController {
  private readonly now: () => number;
  private readonly timing: Partial<RebalanceTiming>;
  private readonly watchMs: number;
  /** Node ID → since when it has been ready and active (ms). */
  private readonly stableSince = new Map<string, number>();
  private readonly reasons = new Map<string, string>();
  /** Look until then (ms); moves in flight extend it. */
  private watchUntil = 0;
  private dirty = true;
  /** Wakes a pass when the earliest plan's `wakeAt` comes (a settle time, a move's timeout). */
  private readonly wake = this.onceTimer();
  /** When `wake` is due (ms), while it is armed. */
  private wakeDueAt = Infinity;

  constructor(store: MemoryStore, logger: Logger, opts: RebalancerOptions = {}) {
    super(store, logger, ['service', 'task', 'node', 'cluster']);
    this.now = opts.now ?? Date.now;
    this.timing = opts.timing ?? {};
    this.watchMs = opts.watchMs ?? WATCH_MS;
  }

  protected markAll(): void {
    // A new leader does not know since when the nodes have been up: it counts from now.
    const now = this.now();
    for (const n of this.store.view((tx) => tx.list('node'))) {
      if (eligible(n) && !this.stableSince.has(n.ID)) this.stableSince.set(n.ID, now);
    }
    this.watchUntil = now + this.watchMs;
    this.dirty = true;
  }

  protected onEvent(e: ObjectEvent): void {
    if (e.kind.startsWith('node.')) {
      const n = e.object as Node;
      const old = 'old' in e ? (e.old as Node) : undefined;
      if (e.kind === 'node.deleted' || !eligible(n)) {
        this.stableSince.delete(n.ID);
        this.reasons.delete(n.ID);
      } else if (!eligible(old) || e.kind === 'node.created') {
        const now = this.now();
        this.stableSince.set(n.ID, now);
        this.reasons.set(n.ID, becameEligible(old));
        this.watchUntil = Math.max(this.watchUntil, now + this.watchMs);
      }
    } else if (e.kind.startsWith('task.')) {
      // Only changes that can matter: a task appearing, moving on, or a replacement's progress;
      // placements and arrivals at running are looked at together, a little later.
      const t = e.object as Task;
      const old = 'old' in e ? (e.old as Task) : undefined;
      const wake = old ? rebalanceWake(old, t) : 'now';
      if (wake === 'no') return;
      if (wake === 'later') {
        this.markLater(t.ServiceID);
        return;
      }
    }
    this.dirty = true;
  }

  protected override onLater(): void {
    this.dirty = true; // a pass looks at every service
  }

  protected async pass(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    const now = this.now();
    let inFlight = false;
    let wakeAt: number | undefined;
    const { value: written } = await this.store.update((tx) => {
      const tasks = tx.list('task');
      inFlight = tasks.some((t) => t.Labels?.[MOVED_FROM_LABEL] && t.DesiredState === 'running' && !isTerminal(t.Status.State));
      if (now > this.watchUntil && !inFlight) return 0;
      const cluster = tx.list('cluster')[0];
      const nodes = tx.list('node');
      const byService = new Map<string, Task[]>();
      const byNode = new Map<string, Task[]>();
      for (const t of tasks) {
        (byService.get(t.ServiceID) ?? byService.set(t.ServiceID, []).get(t.ServiceID)!).push(t);
        if (t.NodeID && !isTerminal(t.Status.State) && t.Status.State !== 'pending') (byNode.get(t.NodeID) ?? byNode.set(t.NodeID, []).get(t.NodeID)!).push(t);
      }
      let n = 0;
      for (const service of tx.list('service')) {
        const plan = planRebalance({
          service, tasks: byService.get(service.ID) ?? [], nodes, tasksByNode: byNode, now,
          stableSince: this.stableSince, nodeReasons: this.reasons,
          swarmLabels: cluster?.Spec?.Labels, timing: this.timing,
        });
        if (plan.wakeAt !== undefined) wakeAt = Math.min(wakeAt ?? Infinity, plan.wakeAt);
        for (const old of plan.finish) {
          tx.update('task', withDesiredState(old, 'shutdown'));
          n++;
        }
        for (const r of plan.cancel) {
          tx.update('task', r);
          this.logger.info('rebalance: move cancelled, the replacement did not run in time', { 'service.id': service.ID, 'task.id': r.ID, 'node.id': r.NodeID });
          n++;
        }
        for (const m of plan.start) {
          const r = newTask(service, { slot: m.task.Slot, nodeId: m.toNode }, { now, newId: () => this.store.newId() });
          r.Labels = { ...r.Labels, [MOVED_FROM_LABEL]: m.task.ID, [MOVED_FROM_NODE_LABEL]: m.fromNode, [MOVE_REASON_LABEL]: m.reason };
          tx.create('task', r);
          if (m.order === 'stop-first') tx.update('task', withDesiredState(m.task, 'shutdown'));
          this.logger.info('rebalance: moving a task', {
            'service.id': service.ID, 'service.name': service.Spec.Name, 'task.id': m.task.ID, 'task.slot': m.task.Slot,
            'node.from': m.fromNode, 'node.to': m.toNode, order: m.order, reason: m.reason,
          });
          n++;
        }
      }
      return n;
    }).catch((err: unknown) => {
      this.dirty = true; // the retry must look again, not find nothing dirty
      throw err;
    });
    if (written) this.dirty = true; // look again at the result (start-first: stop the old task once the new one runs)
    // An earlier wake replaces a later one: the pass it makes plans every service and sets the next.
    if (wakeAt !== undefined && (!this.wake.armed || wakeAt < this.wakeDueAt)) {
      this.wake.disarm();
      if (this.wake.arm(wakeAt - now, () => (this.dirty = true))) this.wakeDueAt = wakeAt;
    }
  }
}

/**
 * When a task's update makes the rebalancer look again (pure): `now`, `later` (after
 * `RUNNING_COALESCE_MS`, with the other arrivals of that moment) or `no`. A plan moves
 * nothing until every wanted task of the service runs, so a wanted task's steps towards
 * running change none; its placement and its arrival at running may (a target's room, a
 * service now fully up), but nothing waits on them: each made a full pass over every task
 * while 10,000 started. Ends, desired-state changes and a rebalancer replacement's every
 * step (moves in flight, timeouts) are looked at now.
 */
export function rebalanceWake(old: Task, t: Task): 'now' | 'later' | 'no' {
  if (t.Labels?.[MOVED_FROM_LABEL]) return 'now';
  if (old.DesiredState !== t.DesiredState) return 'now';
  const changed = old.Status.State !== t.Status.State;
  if (changed && (old.Status.State === 'running' || isTerminal(t.Status.State))) return 'now';
  if (old.NodeID !== t.NodeID) return old.NodeID ? 'now' : 'later'; // placed: later
  if (!changed) return 'no';
  return t.Status.State === 'running' ? 'later' : 'no';
}
