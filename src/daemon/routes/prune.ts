/**
 * Prunes of the Docker Engine API v1.41 that `docker image prune`, `docker network
 * prune` and `docker system prune` call (containers are pruned by
 * containers-lifecycle.ts, volumes by volumes.ts):
 *
 * - `POST /images/prune`: dangling images, or with `dangling=false` every image no
 *   container of this node uses; `until`, `label`, `label!`.
 * - `POST /networks/prune`: as Docker's daemon does on a manager, every swarm network
 *   no service or task uses, except ingress (a worker prunes none); `until`, `label`,
 *   `label!`. The node's predefined local networks (bridge, host, none) are never pruned.
 * - `POST /build/prune`: Shoal has no builder, so its build cache is always empty.
 */
import type { Router } from '../../common/router.ts';
import { filterValues, type SwarmRef } from './lookup.ts';
import { deleteRefusal } from './networks.ts';
import { pruneSelector } from './prune-filters.ts';
import type { ImageService } from '../../images/image-service.ts';

/** What the prune routes need of the daemon. */
export interface PruneRouteDeps {
  images: ImageService;
  swarm: SwarmRef;
  now?: () => number;
}

/** Registers the image, network and build-cache prunes on `router`. */
export function addPruneRoutes(router: Router, deps: PruneRouteDeps): void {
  const now = deps.now ?? Date.now;

  router.post('/images/prune', ({ query }) => {
    const sel = pruneSelector(filterValues(query), now(), ['dangling', 'until', 'label', 'label!']);
    const labels = (id: string) => (deps.images.runConfig(id).Labels as Record<string, string> | undefined) ?? null;
    const r = deps.images.prune({ all: !sel.danglingOnly, select: (img) => sel.matches(Date.parse(img.created) || 0, labels(img.id)) });
    return { ImagesDeleted: r.ImagesDeleted, SpaceReclaimed: r.SpaceReclaimed };
  });

  router.post('/networks/prune', async ({ query }) => {
    const sel = pruneSelector(filterValues(query), now(), ['until', 'label', 'label!']);
    const manager = deps.swarm()?.manager;
    const deleted: string[] = [];
    if (manager) {
      await manager.store.update((tx) => {
        for (const n of tx.list('network')) {
          if (n.Spec.Ingress || !sel.matches(Date.parse(n.CreatedAt) || 0, n.Spec.Labels)) continue;
          if (deleteRefusal(tx, n)) continue;
          tx.delete('network', n.ID);
          deleted.push(n.Spec.Name);
        }
      });
    }
    return { NetworksDeleted: deleted };
  });

  router.post('/build/prune', ({ query }) => {
    pruneSelector(filterValues(query), now(), ['until', 'id', 'parent', 'type', 'description', 'inuse', 'shared', 'private', 'label', 'label!']);
    return { CachesDeleted: [], SpaceReclaimed: 0 };
  });
}
