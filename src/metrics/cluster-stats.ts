/**
 * `GET /shoal/stats` on a manager: every ready node's usage document, asked in parallel
 * (this node's read locally, the others over their 2377 port), plus desired and running
 * task counts per service from the store. A node that does not answer in time is listed
 * under `unreachable` with the reason, never silently left out.
 */
import type { Node } from '../api/types/node.ts';
import type { NodeUsage, StatsReport } from '../api/types/stats.ts';
import type { MemoryStore } from '../store/index.ts';

export interface GatherOptions {
  store: MemoryStore;
  /** This node's ID: its document is read locally. */
  selfId: string;
  local: () => Promise<NodeUsage>;
  /** Another node's document (its 2377 endpoint). */
  remote: (node: Node) => Promise<NodeUsage>;
  /** Per node, ms. Default 3000. */
  timeoutMs?: number;
}

/** Rejects after `ms` with `message` (the losing promise is left to settle on its own). */
function within<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(message)), ms); });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Desired (tasks meant to run) and running counts per service, sorted by name. Pure over one store view. */
export function serviceCounts(store: MemoryStore): StatsReport['services'] {
  return store.view((tx) => tx.list('service').map((s) => {
    const tasks = tx.find('task', { serviceId: s.ID });
    return {
      id: s.ID, name: s.Spec.Name,
      desired: tasks.filter((t) => t.DesiredState === 'running').length,
      running: tasks.filter((t) => t.Status.State === 'running').length,
    };
  })).sort((a, b) => a.name.localeCompare(b.name));
}

/** The report: ready nodes asked in parallel; down nodes are listed as unreachable without asking. */
export async function gatherStats(opts: GatherOptions): Promise<StatsReport> {
  const nodes = opts.store.view((tx) => tx.list('node'));
  const unreachable: Record<string, string> = {};
  const answers = await Promise.all(nodes.map(async (n): Promise<NodeUsage | undefined> => {
    if (n.Status.State !== 'ready') { unreachable[n.ID] = `node is ${n.Status.State}`; return undefined; }
    try {
      const doc = await within(n.ID === opts.selfId ? opts.local() : opts.remote(n), opts.timeoutMs ?? 3000, 'no answer in time');
      return { ...doc, nodeId: n.ID, hostname: n.Description.Hostname || doc.hostname };
    } catch (err) {
      unreachable[n.ID] = (err as Error).message;
      return undefined;
    }
  }));
  return {
    nodes: answers.filter((a): a is NodeUsage => a !== undefined).sort((a, b) => a.hostname.localeCompare(b.hostname)),
    unreachable,
    services: serviceCounts(opts.store),
  };
}
