/**
 * Files of this node's containers (Docker Engine API v1.41): `HEAD /containers/{id}/archive`
 * (the path's stat in `X-Docker-Container-Path-Stat`), `GET …/archive` (a tar of the
 * path, the same header), `PUT …/archive` (a tar extracted into a directory),
 * `GET …/changes` (`docker diff`) and `GET …/export`. Paths never lead out of the
 * container's root (see src/agent/engine/archive/).
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Router, RequestContext } from '../../common/router.ts';
import { ApiError, InvalidArgumentError } from '../../api/errors.ts';
import { ArchiveError } from '../../agent/engine/archive/extract.ts';
import type { ContainerFiles } from '../../agent/engine/archive/container-files.ts';
import type { PathStat } from '../../agent/engine/archive/fd-scope.ts';
import { apiError, flag } from './containers.ts';

const STAT_HEADER = 'X-Docker-Container-Path-Stat';

function filesError(err: unknown): unknown {
  if (err instanceof ArchiveError) return new ApiError(err.message, err.status, { cause: err });
  return apiError(err);
}

async function guarded<T>(fn: () => Promise<T> | T): Promise<T> {
  try { return await fn(); } catch (err) { throw filesError(err); }
}

function pathParam(ctx: RequestContext): string {
  const p = ctx.query.get('path');
  if (!p) throw new InvalidArgumentError('path cannot be empty');
  return p;
}

const statHeader = (s: PathStat) => Buffer.from(JSON.stringify(s)).toString('base64');

/** Streams `tar` as the response body (200, `contentType`); a failure midway cuts the connection. */
async function sendTar(ctx: RequestContext, tar: AsyncGenerator<Buffer>, headers: Record<string, string>): Promise<void> {
  ctx.res.writeHead(200, headers);
  try {
    await pipeline(Readable.from(tar), ctx.res);
  } catch {
    ctx.res.destroy();
  }
}

/** Registers the container file routes on `router`. */
export function addContainerFileRoutes(router: Router, files: ContainerFiles): void {
  // HEAD is routed as GET: the stat alone for HEAD, the stat and the tar for GET.
  router.get('/containers/:id/archive', async (ctx) => {
    const path = pathParam(ctx);
    if (ctx.req.method === 'HEAD') {
      const stat = await guarded(() => files.stat(ctx.params.id, path));
      ctx.res.writeHead(200, { [STAT_HEADER]: statHeader(stat), 'Content-Type': 'application/json' }).end();
      return;
    }
    const { stat, tar } = await guarded(() => files.get(ctx.params.id, path));
    await sendTar(ctx, tar, { 'Content-Type': 'application/x-tar', [STAT_HEADER]: statHeader(stat) });
  });

  router.on('PUT', '/containers/:id/archive', async (ctx) => {
    const path = pathParam(ctx);
    await guarded(() => files.put(ctx.params.id, path, ctx.req, {
      noOverwriteDirNonDir: flag(ctx.query, 'noOverwriteDirNonDir'), copyUidGid: flag(ctx.query, 'copyUIDGID'),
    }));
    ctx.res.writeHead(200, { 'Content-Length': '0' }).end();
  });

  router.get('/containers/:id/changes', (ctx) => guarded(() => files.changes(ctx.params.id)));

  router.get('/containers/:id/export', async (ctx) => {
    const tar = await guarded(() => files.export(ctx.params.id));
    await sendTar(ctx, tar, { 'Content-Type': 'application/octet-stream' });
  });
}
