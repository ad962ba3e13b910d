/**
 * Standalone containers over the Docker Engine API v1.41: `POST /containers/create`,
 * `/start`, `/attach` (hijacked: `101 UPGRADED`, `Upgrade: tcp`; 8-byte multiplexed
 * frames without a TTY, raw terminal bytes with one, stdin into the terminal), `/resize`,
 * `/rename`, `/update`, `DELETE /containers/{id}` (`force`, `v`) and `POST
 * /containers/prune`. Task containers are the swarm's: these actions refuse them (409)
 * rather than act behind the agent's back. List, inspect, logs, top, stats, kill, stop
 * and wait of both kinds are `containers.ts`.
 */
import type { Router, RequestContext } from '../../common/router.ts';
import { ApiError, ConflictError, InvalidArgumentError, NotFoundError } from '../../api/errors.ts';
import { ContainerConflictError, NoSuchContainerError, type NodeEngine } from '../../agent/engine/engine.ts';
import { CreateConfigError } from '../../agent/engine/standalone/errors.ts';
import type { StandaloneContainers } from '../../agent/engine/standalone/standalone.ts';
import type { StandaloneRecord } from '../../agent/engine/standalone/records.ts';
import { frame, STDERR, STDOUT } from '../../agent/engine/stdcopy.ts';
import { filterValues } from './lookup.ts';
import { pruneSelector } from './prune-filters.ts';
import { apiError, flag } from './containers.ts';

function lifecycleError(err: unknown): unknown {
  // What shoal does not do is a 400 naming the field too: the status Docker's spec
  // documents for these routes (a 501 would be read as a missing endpoint).
  if (err instanceof CreateConfigError) {
    if (err.status === 409) return new ConflictError(err.message, { cause: err });
    // A swarm network refused by the leader (403 not attachable, 404 not found, 503 no leader): its own status.
    if (err.status === 403 || err.status === 404 || err.status === 503) return new ApiError(err.message, err.status);
    return new InvalidArgumentError(err.message, { cause: err });
  }
  const e = err as Error;
  if (e?.name === 'ImageNotFoundError') return new NotFoundError(e.message.replace(/^images: /, ''), { cause: e });
  if (e?.name === 'GatewayError') return new ApiError(`driver failed programming external connectivity: ${e.message}`, 500);
  return apiError(err);
}

async function guarded<T>(fn: () => Promise<T> | T): Promise<T> {
  try { return await fn(); } catch (err) { throw lifecycleError(err); }
}

/** Options of the lifecycle routes. */
export interface LifecycleRouteOptions {
  engine: NodeEngine;
  standalone: StandaloneContainers;
}

/** The standalone record `ref` names; a task container is refused with 409, anything else 404. */
async function standaloneOf(o: LifecycleRouteOptions, ref: string, action: string): Promise<StandaloneRecord> {
  try {
    return await o.standalone.find(ref);
  } catch (err) {
    if (!(err instanceof NoSuchContainerError)) throw err;
    let task: string | undefined;
    try { task = o.engine.find(ref).view.cid; } catch { /* neither kind */ }
    if (task) throw new ContainerConflictError(`container ${ref} is a swarm task container: shoal does not ${action} it by hand (its service does)`);
    throw err;
  }
}

async function attach(o: LifecycleRouteOptions, ctx: RequestContext): Promise<void> {
  const q = ctx.query;
  const r = await guarded(() => standaloneOf(o, ctx.params.id, 'attach to'));
  const hj = ctx.hijack;
  if (!hj) throw new InvalidArgumentError('attach: the connection must be upgraded (Connection: Upgrade, Upgrade: tcp)');
  if (!flag(q, 'stream') && !flag(q, 'logs')) throw new InvalidArgumentError('attach: stream or logs must be set');
  const c = await guarded(() => o.standalone.controllerOf(r.id));
  const wasRunning = c.state === 'running';
  const release = o.standalone.hold(r.id);
  hj.taken = true;
  const sock = hj.socket;
  sock.write('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
  if (hj.head.length) sock.unshift(hj.head);
  let closed = false;
  sock.on('close', () => { closed = true; });
  sock.on('error', () => {});
  try {
    if (r.config.tty) {
      // Subscribed as soon as the terminal exists, before the process runs: what the
      // shell prints first (its prompt) reaches an attach made before the start.
      const relay = await o.standalone.terminal(r.id);
      if (closed || !relay) return;
      await new Promise<void>((resolve) => {
        const offData = flag(q, 'stdout') ? relay.onData((d) => { if (!sock.destroyed) sock.write(d); }) : () => {};
        const offEnd = relay.onEnd(() => resolve());
        if (flag(q, 'stdin') && r.config.openStdin) {
          sock.on('data', (d: Buffer) => relay.write(d));
          sock.resume();
        }
        sock.once('close', () => { offData(); offEnd(); resolve(); });
      });
      return;
    }
    await o.standalone.started(r.id);
    if (closed) return;
    const abort = new AbortController();
    sock.once('close', () => abort.abort());
    const stdin = flag(q, 'stdin') ? o.standalone.stdin(r.id) : undefined;
    if (stdin) {
      // The client's input goes to the process; its end (CloseWrite) is the process's EOF.
      sock.on('data', (d: Buffer) => stdin.write(d));
      sock.once('end', () => o.standalone.closeStdin(r.id));
      sock.resume();
    }
    const since = wasRunning && !flag(q, 'logs') ? Date.now() : undefined;
    const wantOut = flag(q, 'stdout');
    const wantErr = flag(q, 'stderr');
    for await (const e of c.logs({ follow: flag(q, 'stream'), since, signal: abort.signal })) {
      if (sock.destroyed) break;
      if (e.stream === 'stderr' ? !wantErr : !wantOut) continue;
      sock.write(frame(e.stream === 'stderr' ? STDERR : STDOUT, e.log));
    }
  } finally {
    release();
    if (!sock.destroyed) sock.end();
  }
}

/** Registers the standalone container routes on `router`. */
export function addContainerLifecycleRoutes(router: Router, o: LifecycleRouteOptions): void {
  router.post('/containers/create', async (ctx) => {
    const body = await ctx.body();
    const name = ctx.query.get('name') || undefined;
    if (ctx.query.get('platform')) throw new ApiError('platform: choosing an image platform is not supported by shoal', 501);
    const out = await guarded(() => o.standalone.create(body, name));
    const text = JSON.stringify(out);
    ctx.res.writeHead(201, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) }).end(text);
  });

  router.post('/containers/:id/start', async (ctx) => {
    if (ctx.query.get('detachKeys')) throw new ApiError('detachKeys: detach keys are not supported by shoal', 501);
    const r = await guarded(() => standaloneOf(o, ctx.params.id, 'start'));
    const started = await guarded(() => o.standalone.start(r.id));
    ctx.res.writeHead(started ? 204 : 304).end();
  });

  router.post('/containers/:id/attach', (ctx) => attach(o, ctx));

  router.post('/containers/:id/resize', async (ctx) => {
    const h = Number(ctx.query.get('h'));
    const w = Number(ctx.query.get('w'));
    if (!Number.isInteger(h) || !Number.isInteger(w) || h <= 0 || w <= 0) throw new InvalidArgumentError('resize: h and w must be positive integers');
    const r = await guarded(() => standaloneOf(o, ctx.params.id, 'resize'));
    const relay = o.standalone.relay(r.id);
    if (!r.config.tty) throw new ConflictError(`container ${r.id} has no TTY to resize`);
    relay?.resize(h, w);
    ctx.res.writeHead(200).end();
  });

  router.post('/containers/:id/rename', async (ctx) => {
    const name = ctx.query.get('name');
    if (!name) throw new InvalidArgumentError('rename: a new name is required');
    const r = await guarded(() => standaloneOf(o, ctx.params.id, 'rename'));
    await guarded(() => o.standalone.rename(r.id, name));
    ctx.res.writeHead(204).end();
  });

  router.post('/containers/:id/update', async (ctx) => {
    const body = await ctx.body();
    const r = await guarded(() => standaloneOf(o, ctx.params.id, 'update'));
    return guarded(() => o.standalone.update(r.id, body));
  });

  router.delete('/containers/:id', async (ctx) => {
    if (flag(ctx.query, 'link')) throw new ApiError('link: container links are not supported by shoal', 501);
    const r = await guarded(() => standaloneOf(o, ctx.params.id, 'remove'));
    await guarded(() => o.standalone.remove(r.id, { force: flag(ctx.query, 'force'), volumes: flag(ctx.query, 'v') }));
    ctx.res.writeHead(204).end();
  });

  router.post('/containers/prune', async (ctx) => {
    const sel = pruneSelector(filterValues(ctx.query), Date.now(), ['until', 'label', 'label!']);
    return guarded(() => o.standalone.prune((r, createdAt) => !sel.matches(Date.parse(createdAt), r.config.labels)));
  });
}
