/**
 * `/volumes…` of the Docker Engine API v1.41 for this node's local volumes: list
 * (filters `name`, `label`, `dangling`, `driver`), create (the `local` driver, labels,
 * and its `type`/`o`/`device` options for tmpfs and bind), inspect, remove (refused
 * while a container of this node uses the volume, with Docker's message) and prune.
 * Service mounts of `Type: volume` go through the same store, so they show here.
 */
import { randomBytes } from 'node:crypto';
import type { Router } from '../../common/router.ts';
import { sendJson } from '../../common/router.ts';
import { ConflictError, InvalidArgumentError, NotFoundError } from '../../api/errors.ts';
import { filterValues } from './lookup.ts';
import { NoSuchVolumeError, VolumeInUseError, VolumeInvalidError, type VolumeRecord, type VolumeStore } from '../../agent/volumes/volume-store.ts';
import { pruneCandidates, selectVolumes } from '../../agent/volumes/filters.ts';
import { dirSize } from '../../agent/volumes/usage.ts';

/** What the volume routes need of the daemon. */
export interface VolumeRouteDeps {
  volumes: VolumeStore;
  /**
   * Volume name → IDs of this node's containers whose mounts name it (running or not);
   * waits for the executor when it is still re-adopting containers after a restart.
   */
  usage(): Map<string, string[]> | Promise<Map<string, string[]>>;
}

/** The store's errors as API errors (the boundary's job). */
export function volumeApiError(err: unknown): unknown {
  if (err instanceof NoSuchVolumeError) return new NotFoundError(err.message, { cause: err });
  if (err instanceof VolumeInUseError) return new ConflictError(err.message, { cause: err });
  if (err instanceof VolumeInvalidError) return new InvalidArgumentError(err.message, { cause: err });
  return err;
}

async function mapped<T>(fn: () => Promise<T> | T): Promise<T> {
  try { return await fn(); } catch (err) { throw volumeApiError(err); }
}

/** Docker's `Volume` object; `usage` adds `UsageData` (system df). */
export function volumeDoc(v: VolumeRecord, usage?: { size: number; refCount: number }): Record<string, unknown> {
  return {
    CreatedAt: v.createdAt, Driver: v.driver, Labels: v.labels, Mountpoint: v.mountpoint, Name: v.name,
    Options: v.options, Scope: 'local', ...(usage ? { UsageData: { Size: usage.size, RefCount: usage.refCount } } : {}),
  };
}

/** The body of `POST /volumes/create` (v1.41, and v1.42's cluster volume field, refused). */
interface CreateBody { Name?: string; Driver?: string; DriverOpts?: Record<string, string> | null; Labels?: Record<string, string> | null; ClusterVolumeSpec?: unknown }

function stringMap(v: unknown, field: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) {
    throw new InvalidArgumentError(`volumes: ${field} must be an object of strings`);
  }
  return { ...(v as Record<string, string>) };
}

/** Registers the volume routes on `router`. */
export function addVolumeRoutes(router: Router, deps: VolumeRouteDeps): void {
  const { volumes } = deps;
  const usedBy = (usage: Map<string, string[]>) => (name: string) => usage.get(name) ?? [];

  router.get('/volumes', async ({ query }) => {
    const usage = await deps.usage();
    return mapped(() => ({ Volumes: selectVolumes(volumes.list(), filterValues(query), usedBy(usage)).map((v) => volumeDoc(v)), Warnings: [] }));
  });

  router.post('/volumes/create', async (ctx) => {
    const body = (await ctx.body<CreateBody>()) ?? {};
    if (body.Driver && body.Driver !== 'local') throw new InvalidArgumentError(`volumes: driver "${body.Driver}" is not supported by shoal (only local)`);
    if (body.ClusterVolumeSpec && Object.keys(body.ClusterVolumeSpec).length) throw new InvalidArgumentError('volumes: ClusterVolumeSpec (cluster volumes) is not supported by shoal');
    // Docker names an anonymous volume with 64 random hex digits.
    const name = body.Name || randomBytes(32).toString('hex');
    const v = await mapped(() => volumes.create(name, { labels: stringMap(body.Labels, 'Labels'), options: stringMap(body.DriverOpts, 'DriverOpts') }));
    sendJson(ctx.res, 201, volumeDoc(v));
    return undefined;
  });

  router.post('/volumes/prune', async ({ query }) => {
    const usage = await deps.usage();
    const victims = await mapped(() => pruneCandidates(volumes.list(), filterValues(query), usedBy(usage)));
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const v of victims) {
      const size = await dirSize(v.mountpoint);
      // Read usage again: a task may have started on it while the sizes were read.
      const users = (await deps.usage()).get(v.name) ?? [];
      if (users.length) continue;
      await mapped(() => volumes.remove(v.name, users));
      deleted.push(v.name);
      reclaimed += Math.max(0, size);
    }
    return { VolumesDeleted: deleted, SpaceReclaimed: reclaimed };
  });

  router.get('/volumes/:name', ({ params }) => mapped(() => volumeDoc(volumes.get(params.name))));

  router.delete('/volumes/:name', async ({ params, query, res }) => {
    const force = ['1', 'true'].includes((query.get('force') ?? '').toLowerCase());
    try {
      await volumes.remove(params.name, (await deps.usage()).get(params.name) ?? []);
    } catch (err) {
      // Docker: force ignores only a missing volume; one in use is still refused.
      if (!(force && err instanceof NoSuchVolumeError)) throw volumeApiError(err);
    }
    res.writeHead(204).end();
    return undefined;
  });
}
