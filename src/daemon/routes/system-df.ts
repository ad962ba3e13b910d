/**
 * `GET /system/df` (Docker Engine API v1.41): this node's images, containers and
 * volumes with their sizes, in Docker's shape, so `docker system df [-v]` renders. Shoal
 * has no builder, so `BuildCache` is always empty.
 */
import type { Router } from '../../common/router.ts';
import { InvalidArgumentError } from '../../api/errors.ts';
import type { ImageRecord } from '../../images/image-store.ts';
import type { VolumeStore } from '../../agent/volumes/volume-store.ts';
import { dirSize } from '../../agent/volumes/usage.ts';
import { volumeDoc } from './volumes.ts';

/** What `system df` reads of the daemon. */
export interface SystemDfDeps {
  images(): ImageRecord[];
  /** An image's labels (from its config); null when it has none. */
  imageLabels(id: string): Record<string, string> | null;
  /** `docker ps -a -s` rows of this node (with `SizeRw`, `SizeRootFs`, `ImageID`). */
  containers(): Record<string, unknown>[];
  volumes: VolumeStore;
  /** Volume name → IDs of containers using it. */
  usage(): Map<string, string[]> | Promise<Map<string, string[]>>;
}

/**
 * Per image: its size and the part of it in layers another image also has (`SharedSize`);
 * and the size of all distinct layers (`LayersSize`). Pure.
 */
export function layerSizes(images: ImageRecord[]): { layersSize: number; shared: Map<string, number> } {
  const holders = new Map<string, { size: number; n: number }>();
  for (const r of images) for (const l of new Map(r.layers.map((x) => [x.diffId, x])).values()) {
    const h = holders.get(l.diffId) ?? { size: l.size, n: 0 };
    h.n++;
    holders.set(l.diffId, h);
  }
  let layersSize = 0;
  for (const h of holders.values()) layersSize += h.size;
  const shared = new Map(images.map((r) => [r.id, [...new Set(r.layers.map((l) => l.diffId))].reduce((s, d) => s + ((holders.get(d)?.n ?? 0) > 1 ? holders.get(d)!.size : 0), 0)]));
  return { layersSize, shared };
}

const TYPES = new Set(['image', 'container', 'volume', 'build-cache']);

/** Registers `GET /system/df`. */
export function addSystemDfRoute(router: Router, deps: SystemDfDeps): void {
  router.get('/system/df', async ({ query }) => {
    // API 1.42's `type` narrows the answer; honour it rather than ignore it.
    const types = query.getAll('type');
    for (const t of types) if (!TYPES.has(t)) throw new InvalidArgumentError(`unknown object type: ${t}`);
    const want = (t: string) => types.length === 0 || types.includes(t);
    const containers = deps.containers();
    const out: Record<string, unknown> = {};
    if (want('image')) {
      const images = deps.images();
      const { layersSize, shared } = layerSizes(images);
      out.LayersSize = layersSize;
      out.Images = images.map((r) => ({
        Id: r.id, ParentId: '', RepoTags: r.repoTags, RepoDigests: r.repoDigests,
        Created: Math.floor(Date.parse(r.created) / 1000) || 0, Size: r.size, SharedSize: shared.get(r.id) ?? 0, VirtualSize: r.size,
        Labels: deps.imageLabels(r.id), Containers: containers.filter((c) => c.ImageID === r.id).length,
      }));
    }
    if (want('container')) out.Containers = containers;
    if (want('volume')) {
      const usage = await deps.usage();
      out.Volumes = await Promise.all(deps.volumes.list().map(async (v) =>
        volumeDoc(v, { size: await dirSize(v.mountpoint), refCount: usage.get(v.name)?.length ?? 0 })));
    }
    if (want('build-cache')) out.BuildCache = [];
    return out;
  });
}
