/**
 * Shoal's usage routes (an extension; Docker has per-container stats only):
 * `GET /shoal/node-usage` — this node's running tasks with CPU, memory and network (any
 * node, in a swarm or not); `GET /shoal/stats` — on a manager, every node's, gathered in
 * parallel (`src/metrics/cluster-stats.ts`). `shoal service stats` and `shoal node stats`
 * read the second.
 */
import type { Router } from '../../common/router.ts';
import type { Node } from '../../api/types/node.ts';
import type { NodeUsage, StatsReport } from '../../api/types/stats.ts';
import { UnavailableError } from '../../api/errors.ts';
import { gatherStats } from '../../metrics/cluster-stats.ts';
import type { NodeUsageReader } from '../../metrics/node-usage.ts';
import { requireManager, type SwarmRef } from './lookup.ts';

export interface StatsRouteDeps {
  swarm: SwarmRef;
  usage: NodeUsageReader;
  /**
   * Another node's usage document over its 2377 port; undefined when this daemon cannot
   * reach other nodes (then they are listed as unreachable, with this reason).
   */
  peerUsage?: (node: Node) => Promise<NodeUsage>;
}

/**
 * Every node's usage, gathered by this manager (what `GET /shoal/stats` answers; the
 * autoscaler and the dashboard read it too). Throws `UnavailableError` off a manager.
 */
export async function clusterStats(deps: StatsRouteDeps): Promise<StatsReport> {
  const manager = requireManager(deps.swarm);
  return gatherStats({
    store: manager.store,
    selfId: manager.nodeId,
    local: () => deps.usage.read(),
    remote: (n) => {
      if (!deps.peerUsage) return Promise.reject(new UnavailableError('stats: this manager cannot ask other nodes'));
      return deps.peerUsage(n);
    },
  });
}

/** Adds `/shoal/node-usage` and `/shoal/stats`. */
export function addStatsRoutes(router: Router, deps: StatsRouteDeps): void {
  router.get('/shoal/node-usage', () => deps.usage.read());
  router.get('/shoal/stats', () => clusterStats(deps));
}
