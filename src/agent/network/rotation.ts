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
 * Waiters for "a view without this task was applied". `applied(view)` is called after
 * each apply of a view; `wait` resolves true at the first applied view (the current one
 * included) that leaves the task out, false after `timeoutMs`.
 */
export class RotationWaiters {
  private last: NodeNetworkView | undefined;
  private readonly waiters = new Set<{ task: Task; done: (ok: boolean) => void }>();

  /** A view was applied to the kernel (DNS, VIP tables, mesh). */
  applied(view: NodeNetworkView): void {
    this.last = view;
    for (const w of [...this.waiters]) if (!inViewRotation(view, w.task)) w.done(true);
  }

  /** Resolves true once an applied view leaves `task` out, false after `timeoutMs`. */
  wait(task: Task, timeoutMs: number): Promise<boolean> {
    if (this.last && !inViewRotation(this.last, task)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const w = {
        task,
        done: (ok: boolean) => {
          clearTimeout(timer);
          this.waiters.delete(w);
          resolve(ok);
        },
      };
      const timer = setTimeout(() => w.done(false), timeoutMs);
      timer.unref?.();
      this.waiters.add(w);
    });
  }
}
