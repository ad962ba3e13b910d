/**
 * Image endpoints of the Docker Engine API v1.41: pull (`POST /images/create`,
 * streaming JSON progress lines), list, inspect, remove, load (tar body); prune is in
 * prune.ts with its filters.
 * Errors of the image service become Docker's status codes here, at the boundary.
 */
import { createWriteStream, rmSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type http from 'node:http';
import type { Router, RequestContext } from '../../common/router.ts';
import { ApiError, InvalidArgumentError } from '../../api/errors.ts';
import type { ImageInspect, ImageSummary, ProgressMessage } from '../../api/types/image.ts';
import type { ImageService } from '../../images/image-service.ts';
import type { ImageRecord } from '../../images/image-store.ts';
import { ImageError } from '../../images/errors.ts';
import { InvalidReferenceError } from '../../images/reference.ts';

/** What the image routes need. */
export interface ImageRouteDeps {
  images: ImageService;
  /** Number of tasks using an image (for `Containers`); default unknown (-1). */
  containersUsing?: (imageId: string) => number;
}

/** Image-service errors as API errors with Docker's status codes. */
export function toApiError(e: unknown): unknown {
  if (e instanceof InvalidReferenceError) return new InvalidArgumentError(e.message.replace(/^images: /, ''), { cause: e });
  if (e instanceof ImageError) return new ApiError(e.message.replace(/^images: /, ''), e.status, { cause: e });
  return e;
}

function summary(r: ImageRecord, deps: ImageRouteDeps): ImageSummary {
  const labels = (deps.images.runConfig(r.id).Labels as Record<string, string> | undefined) ?? null;
  return {
    Id: r.id, ParentId: '', RepoTags: r.repoTags, RepoDigests: r.repoDigests,
    Created: Math.floor(Date.parse(r.created) / 1000) || 0, Size: r.size, SharedSize: -1, VirtualSize: r.size,
    Labels: labels, Containers: deps.containersUsing?.(r.id) ?? -1,
  };
}

function inspect(r: ImageRecord, deps: ImageRouteDeps): ImageInspect {
  return {
    Id: r.id, RepoTags: r.repoTags, RepoDigests: r.repoDigests, Parent: '', Created: r.created, Size: r.size, VirtualSize: r.size,
    Architecture: r.architecture, Os: r.os, Config: deps.images.runConfig(r.id), RootFS: { Type: 'layers', Layers: r.layers.map((l) => l.diffId) },
  };
}

/** Docker's `filters` query: `{"dangling":["true"],"reference":["x"]}` (or the old map form). */
function parseFilters(q: URLSearchParams): Record<string, string[]> {
  const raw = q.get('filters');
  if (!raw) return {};
  let f: Record<string, string[] | Record<string, boolean>>;
  try { f = JSON.parse(raw); } catch { throw new InvalidArgumentError(`invalid filters: ${raw}`); }
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(f)) out[k] = Array.isArray(v) ? v : Object.keys(v).filter((x) => v[x]);
  return out;
}

/** `*` in a reference filter matches within a path component, as Docker's does. */
function refMatches(pattern: string, tag: string): boolean {
  const re = new RegExp('^' + pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*') + '(:.*)?$');
  return re.test(tag);
}

function startStream(res: http.ServerResponse): void {
  if (!res.headersSent) res.writeHead(200, { 'Content-Type': 'application/json' });
}

function nameParam(ctx: RequestContext): string {
  return ['a', 'b', 'c', 'd'].map((k) => ctx.params[k]).filter(Boolean).join('/');
}

/** Registers the image routes on `router`. */
export function addImageRoutes(router: Router, deps: ImageRouteDeps): void {
  const { images } = deps;

  router.post('/images/create', async ({ query, res }) => {
    const from = query.get('fromImage');
    if (!from && query.get('fromSrc')) throw new ApiError('shoal: POST /images/create with fromSrc (image import) is not implemented; use image load', 501);
    if (!from) throw new InvalidArgumentError('fromImage is required');
    const tag = query.get('tag');
    const ref = tag ? (tag.startsWith('sha256:') ? `${from}@${tag}` : `${from}:${tag}`) : from;
    const write = (m: ProgressMessage) => { startStream(res); res.write(JSON.stringify(m) + '\r\n'); };
    try {
      await images.pull(ref, write);
      res.end();
    } catch (e) {
      if (!res.headersSent) throw toApiError(e);
      const message = (e as Error).message.replace(/^images: /, '');
      res.end(JSON.stringify({ errorDetail: { message }, error: message }) + '\r\n');
    }
    return undefined;
  });

  router.get('/images/json', ({ query }) => {
    const filters = parseFilters(query);
    let list = images.list();
    if (filters.dangling?.[0] === 'true') list = list.filter((r) => r.repoTags.length === 0);
    if (filters.dangling?.[0] === 'false') list = list.filter((r) => r.repoTags.length > 0);
    if (filters.reference?.length) list = list.filter((r) => r.repoTags.some((t) => filters.reference.some((p) => refMatches(p, t))));
    return list.map((r) => summary(r, deps)).sort((a, b) => b.Created - a.Created);
  });

  const inspectRoute = (ctx: RequestContext) => {
    try { return inspect(images.get(nameParam(ctx)), deps); } catch (e) { throw toApiError(e); }
  };
  const removeRoute = (ctx: RequestContext) => {
    try { return images.remove(nameParam(ctx), { force: ['1', 'true'].includes(ctx.query.get('force') ?? '') }); } catch (e) { throw toApiError(e); }
  };
  // Names may hold slashes (`127.0.0.1:5000/shoal/bb:v1`), which Docker clients send unescaped.
  for (const p of [':a', ':a/:b', ':a/:b/:c', ':a/:b/:c/:d']) {
    router.get(`/images/${p}/json`, inspectRoute);
    router.delete(`/images/${p}`, removeRoute);
  }

  router.post('/images/load', async ({ req, res, query }) => {
    const tmp = images.content.tempPath('upload');
    try {
      await pipeline(req, createWriteStream(tmp));
      const lines: string[] = [];
      await images.load(tmp, (l) => lines.push(l));
      startStream(res);
      const quiet = ['1', 'true'].includes(query.get('quiet') ?? '');
      for (const l of lines) res.write(JSON.stringify(quiet ? { stream: `${l}\n` } : { stream: `${l}\n` }) + '\r\n');
      res.end();
    } catch (e) {
      throw toApiError(e);
    } finally {
      rmSync(tmp, { force: true });
    }
    return undefined;
  });
}
