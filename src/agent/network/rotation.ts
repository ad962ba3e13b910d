/**
 * Whether a node's network view still sends traffic to a task: the task is one of a
 * service's members on a network (DNS answers, VIP backends) or one of a published
 * port's routing-mesh backends. The agent holds a stopping task's signal back until the
 * view its node applied says no (see `Agent`'s drain), and `RotationWaiters` lets it
 * wait for that. Pure, apart from the waiters' promises.
 */
import type { Task } from '../../api/types/task.ts';
import type { NodeNetworkView } from '../../wire/network-view-types.ts';

/** The task's overlay addresses (no prefix), by network ID. */
function addressesOf(task: Task): Map<string, string> {
  const out = new Map<string, string>();
  for (const a of task.NetworksAttachments ?? []) {
    const first = a.Addresses?.[0];
    if (first) out.set(a.Network.ID, first.split('/')[0]);
  }
  return out;
}

/** Whether `view` routes new traffic to `task` anywhere: service members (DNS, VIP) or mesh backends. */
export function inViewRotation(view: NodeNetworkView, task: Task): boolean {
  const ips = addressesOf(task);
  const suffix = `.${task.ID}`;
  for (const n of view.networks) {
    const ip = ips.get(n.id);
    for (const s of n.services) {
      if (s.tasks.some((m) => m.name.endsWith(suffix) || (ip !== undefined && m.ip === ip))) return true;
    }
  }
  const ingressIp = view.ingress ? ips.get(view.ingress.networkId) : undefined;
  if (ingressIp !== undefined && view.ingress!.ports.some((p) => p.backends.includes(ingressIp))) return true;
  return false;
}

/**
 * How far a stopping task is out of rotation: `cluster` once every node with a session
 * applied a view without it (the leader's watermark reached the generation of the first
 * such view here), `local` when only this node is known to have (the leader sends no
 * generations or watermark, or the wait timed out after the local step), `false` when not
 * even this node applied one in time.
 */
export type OutOfRotation = 'cluster' | 'local' | false;

interface Waiter {
  task: Task;
  /** Generation of the first applied view here that left the task out (phase two), if known yet. */
  since?: number;
  done: (r: OutOfRotation) => void;
}

/**
 * Waiters for "no node routes new connections to this task any more". `applied(view)` is
 * called after each apply of a view here, `watermark(g)` when the leader says every node
 * applied generation `g`. `wait` resolves in two steps: first a view here that leaves the
 * task out (the current one included), then the watermark reaching that view's
 * generation; or with what it got after `timeoutMs`.
 */
export class RotationWaiters {
  private last: NodeNetworkView | undefined;
  private clusterWatermark = 0;
  private readonly waiters = new Set<Waiter>();

  /** A view was applied to the kernel (DNS, VIP tables, mesh). */
  applied(view: NodeNetworkView): void {
    this.last = view;
    for (const w of [...this.waiters]) {
      if (w.since === undefined && !inViewRotation(view, w.task)) this.outHere(w, view.generation);
    }
  }

  /** The leader's watermark: every node with a session applied views of at least `generation`. */
  watermark(generation: number): void {
    if (!Number.isSafeInteger(generation) || generation <= this.clusterWatermark) return;
    this.clusterWatermark = generation;
    for (const w of [...this.waiters]) if (w.since !== undefined && generation >= w.since) w.done('cluster');
  }

  /** Resolves `cluster` or `local` (see {@link OutOfRotation}); what it has after `timeoutMs`. */
  wait(task: Task, timeoutMs: number): Promise<OutOfRotation> {
    return new Promise((resolve) => {
      const w: Waiter = {
        task,
        done: (r) => {
          clearTimeout(timer);
          this.waiters.delete(w);
          resolve(r);
        },
      };
      const timer = setTimeout(() => w.done(w.since === undefined ? false : 'local'), timeoutMs);
      timer.unref?.();
      this.waiters.add(w);
      if (this.last && !inViewRotation(this.last, task)) this.outHere(w, this.last.generation);
    });
  }

  /** Step one done: the task is out of this node's applied view of `generation`. */
  private outHere(w: Waiter, generation: number | undefined): void {
    // A leader that sends no generations cannot say when the others applied theirs.
    if (generation === undefined) return w.done('local');
    w.since = generation;
    if (this.clusterWatermark >= generation) w.done('cluster');
  }
}
