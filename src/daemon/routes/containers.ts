/**
 * `/containers…` of the Docker Engine API v1.41 for this node's task containers: list
 * (`all`, `limit`, `size`, `filters`), inspect, logs, top, stats, wait, kill, stop and
 * restart. Standalone containers (`create`, `start`, `rm`, …) are not served yet: their
 * routes answer 404 (`page not found`) as before.
 */
import type http from 'node:http';
import type { Router, RequestContext } from '../../common/router.ts';
import { ApiError, ConflictError, InvalidArgumentError, NotFoundError } from '../../api/errors.ts';
import { filterValues } from './lookup.ts';
import { ContainerConflictError, NoSuchContainerError, type NodeEngine } from '../../agent/engine/engine.ts';
import { FilterError } from '../../agent/engine/filters.ts';
import { frame, STDERR, STDOUT } from '../../agent/engine/stdcopy.ts';
import type { RawSample } from '../../agent/engine/stats.ts';

/** The engine's errors as API errors (the boundary's job). */
export function apiError(err: unknown): unknown {
  if (err instanceof NoSuchContainerError) return new NotFoundError(err.message, { cause: err });
  if (err instanceof ContainerConflictError) return new ConflictError(err.message, { cause: err });
  if (err instanceof FilterError) return new InvalidArgumentError(err.message, { cause: err });
  return err;
}

/** Runs `fn`, turning engine errors into API errors. */
export async function mapped<T>(fn: () => Promise<T> | T): Promise<T> {
  try { return await fn(); } catch (err) { throw apiError(err); }
}

/** A boolean query parameter: `1` or `true` (any case); `dflt` when absent or empty. */
export function flag(q: URLSearchParams, name: string, dflt = false): boolean {
  const v = q.get(name);
  if (v === null || v === '') return dflt;
  return v === '1' || v.toLowerCase() === 'true';
}

/** A `since`/`until` value: Unix seconds (with fraction) or RFC 3339; undefined when absent or 0. */
export function parseTime(v: string | null, name: string): number | undefined {
  if (v === null || v === '' || v === '0') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.floor(Number(v) * 1000);
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new InvalidArgumentError(`invalid value for ${name}: ${v}`);
  return t;
}

function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw new InvalidArgumentError(`invalid value for ${name}: ${v}`);
  return Number(v);
}

async function logs(engine: NodeEngine, ctx: RequestContext): Promise<void> {
  const q = ctx.query;
  const stdout = flag(q, 'stdout');
  const stderr = flag(q, 'stderr');
  if (!stdout && !stderr) throw new InvalidArgumentError('Bad parameters: you must choose at least one stream');
  const tailRaw = q.get('tail');
  const tail = tailRaw === null || tailRaw === '' || tailRaw === 'all' ? undefined : Number(tailRaw);
  if (tail !== undefined && !Number.isInteger(tail)) throw new InvalidArgumentError(`invalid value for tail: ${tailRaw}`);
  if (q.get('details') && flag(q, 'details')) throw new ApiError('details: log details (log driver attributes) are not supported by shoal', 501);
  const timestamps = flag(q, 'timestamps');
  const abort = new AbortController();
  const it = await mapped(() => engine.logs(ctx.params.id, {
    follow: flag(q, 'follow'), since: parseTime(q.get('since'), 'since'), until: parseTime(q.get('until'), 'until'),
    tail: tail !== undefined && tail < 0 ? undefined : tail, signal: abort.signal,
  }));
  const res = ctx.res;
  res.writeHead(200, { 'Content-Type': 'application/vnd.docker.raw-stream' });
  res.on('close', () => abort.abort());
  for await (const e of it) {
    if (res.destroyed) break;
    if ((e.stream === 'stdout' && !stdout) || (e.stream === 'stderr' && !stderr)) continue;
    const line = timestamps ? `${e.time} ${e.log}` : e.log;
    res.write(frame(e.stream === 'stderr' ? STDERR : STDOUT, line));
  }
  res.end();
}

const STATS_INTERVAL_MS = 1000;
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function stats(engine: NodeEngine, ctx: RequestContext): Promise<void> {
  const stream = flag(ctx.query, 'stream', true);
  const oneShot = flag(ctx.query, 'one-shot');
  if (oneShot && stream) throw new InvalidArgumentError('cannot have stream=true and one-shot=true');
  const id = ctx.params.id;
  let first = await mapped(() => engine.stats(id));
  const res = ctx.res;
  if (!first) {
    await mapped(() => engine.find(id));
    return void sendBody(res, engine.emptyStats(id));
  }
  if (!stream) {
    // Docker fills precpu_stats with the sample one interval earlier, so CPU % is meaningful.
    if (!oneShot) {
      await delay(STATS_INTERVAL_MS);
      first = engine.stats(id, first.sample) ?? first;
    }
    return void sendBody(res, first.doc);
  }
  res.writeHead(200, { 'Content-Type': 'application/json' });
  let closed = false;
  res.on('close', () => { closed = true; });
  let prev: RawSample | undefined = first.sample;
  res.write(JSON.stringify(first.doc) + '\n');
  while (!closed) {
    await delay(STATS_INTERVAL_MS);
    if (closed) break;
    let next: ReturnType<NodeEngine['stats']>;
    try { next = engine.stats(id, prev); } catch { next = undefined; }
    if (!next) break;
    prev = next.sample;
    res.write(JSON.stringify(next.doc) + '\n');
  }
  res.end();
}

function sendBody(res: http.ServerResponse, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** Registers the container routes on `router`. */
export function addContainerRoutes(router: Router, engine: NodeEngine): void {
  router.get('/containers/json', (ctx) => mapped(() => engine.list({
    all: flag(ctx.query, 'all'), limit: intParam(ctx.query, 'limit'), size: flag(ctx.query, 'size'), filters: filterValues(ctx.query),
  })));
  router.get('/containers/:id/json', (ctx) => mapped(() => engine.inspect(ctx.params.id, { size: flag(ctx.query, 'size') })));
  router.get('/containers/:id/logs', (ctx) => logs(engine, ctx));
  router.get('/containers/:id/top', (ctx) => mapped(() => engine.top(ctx.params.id, ctx.query.get('ps_args') ?? undefined)));
  router.get('/containers/:id/stats', (ctx) => stats(engine, ctx));
  router.post('/containers/:id/kill', async (ctx) => {
    const signal = ctx.query.get('signal') || 'SIGKILL';
    await mapped(async () => {
      try { await engine.kill(ctx.params.id, signal); } catch (err) {
        if ((err as Error).name === 'MonitorError') throw new InvalidArgumentError(`invalid signal: ${signal}`);
        throw err;
      }
    });
    ctx.res.writeHead(204).end();
  });
  router.post('/containers/:id/stop', async (ctx) => {
    const stopped = await mapped(() => engine.stop(ctx.params.id, intParam(ctx.query, 't')));
    ctx.res.writeHead(stopped ? 204 : 304).end();
  });
  router.post('/containers/:id/restart', async (ctx) => {
    await mapped(() => engine.restart(ctx.params.id, intParam(ctx.query, 't')));
    ctx.res.writeHead(204).end();
  });
  router.post('/containers/:id/wait', async (ctx) => {
    const condition = ctx.query.get('condition') || 'not-running';
    if (condition !== 'not-running' && condition !== 'next-exit' && condition !== 'removed') throw new InvalidArgumentError(`invalid condition: ${condition}`);
    const { view } = await mapped(() => engine.find(ctx.params.id));
    if (view.name) {
      // A standalone container (containers-lifecycle.ts): Docker sends the headers at once,
      // and `docker run` waits for them before it starts the container.
      const waiting = mapped(() => engine.wait(view.cid, condition));
      ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
      ctx.res.flushHeaders();
      const text = await waiting.then((e) => JSON.stringify({ StatusCode: e.exitCode, Error: null }), (err: Error) => JSON.stringify({ StatusCode: -1, Error: { Message: err.message } }));
      ctx.res.end(text);
      return;
    }
    if (condition === 'removed') throw new ApiError('condition: wait for removal is not supported by shoal for task containers', 501);
    const exit = await mapped(() => engine.wait(ctx.params.id, condition));
    return { StatusCode: exit.exitCode, Error: null };
  });
}
