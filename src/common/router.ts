/**
 * A small router for the control API: routes by method and path pattern
 * (`/services/:id/update`), strips an optional `/v1.NN` version prefix, parses JSON
 * bodies with a size limit, and maps errors to Docker's `{"message": …}` responses —
 * the only place where error kinds become status codes.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { ApiError, InvalidArgumentError, NotFoundError } from '../api/errors.ts';
import { API_VERSION, MIN_API_VERSION } from '../api/types/system.ts';

/**
 * What answers a request that no route takes with a 501 naming it (the daemon passes its
 * `NotImplementedTable` of Docker's endpoints, daemon/http/not-implemented.ts).
 */
export interface NotImplementedAnswers {
  errorFor(method: string, path: string): ApiError | undefined;
}

export interface RequestContext {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The API version the client asked for through the path prefix, or the daemon's. */
  apiVersion: string;
  /** Reads and parses a JSON body; an empty body gives `undefined`. Throws 400 on bad JSON. */
  body<T = unknown>(): Promise<T | undefined>;
  /** Reads the raw body (for uploads such as `image load`), up to `limit` bytes. */
  rawBody(limit?: number): Promise<Buffer>;
  /**
   * Set only for requests with `Upgrade:` (Docker's hijacked exec start): the connection,
   * which the handler takes over (it writes the `101` itself), and the bytes already read
   * past the body. Undefined on ordinary requests.
   */
  hijack?: Hijack;
}

/** The connection of an upgrade request, for a handler that takes it over. */
export interface Hijack {
  socket: Duplex;
  head: Buffer;
  /** Set by the handler once it wrote its own response on the socket: the router then writes nothing. */
  taken?: boolean;
}

/** A handler returns a value to send as JSON (status 200), or handles `res` itself and returns undefined. */
export type Handler = (ctx: RequestContext) => Promise<unknown> | unknown;

interface Route {
  method: string;
  segments: string[];
  handler: Handler;
}

/** JSON bodies larger than this are refused (objects are small; uploads use rawBody). */
const MAX_JSON_BODY = 16 * 1024 * 1024;
const VERSION_PREFIX = /^\/v(\d+\.\d+)(\/.*)$/;

export class Router {
  private readonly routes: Route[] = [];

  /**
   * `notImplemented`: Docker endpoints that no route takes are answered 501 naming the
   * endpoint (see daemon/http/not-implemented.ts); without it they are 404/405 like any unknown path.
   */
  constructor(private readonly options: { notImplemented?: NotImplementedAnswers } = {}) {}

  /** Adds a route; `pattern` segments starting with `:` capture a parameter. */
  on(method: string, pattern: string, handler: Handler): this {
    this.routes.push({ method: method.toUpperCase(), segments: pattern.split('/').filter(Boolean), handler });
    return this;
  }

  get(pattern: string, handler: Handler): this {
    return this.on('GET', pattern, handler);
  }

  post(pattern: string, handler: Handler): this {
    return this.on('POST', pattern, handler);
  }

  delete(pattern: string, handler: Handler): this {
    return this.on('DELETE', pattern, handler);
  }

  /** The node:http request listener. Never throws: every failure becomes an error response. */
  readonly listener = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    this.dispatch(req, res).catch((err) => sendError(res, err));
  };

  /**
   * The node:http `upgrade` listener: routes an `Upgrade:` request like any other; a
   * handler that does not take the connection over answers through an ordinary response
   * and the connection closes after it.
   */
  readonly upgradeListener = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    const res = new http.ServerResponse(req);
    res.assignSocket(socket as Socket);
    res.shouldKeepAlive = false;
    res.on('finish', () => socket.end());
    socket.on('error', () => socket.destroy());
    this.dispatch(req, res, { socket, head }).catch((err) => sendError(res, err));
  };

  private async dispatch(req: http.IncomingMessage, res: http.ServerResponse, hijack?: Hijack): Promise<void> {
    res.setHeader('API-Version', API_VERSION);
    res.setHeader('Server', `Shoal/${API_VERSION}`);
    const url = parseUrl(req.url ?? '/');
    let path = url.pathname;
    let apiVersion = API_VERSION;
    const m = VERSION_PREFIX.exec(path);
    if (m) {
      apiVersion = m[1];
      path = m[2];
      if (compareVersions(apiVersion, MIN_API_VERSION) < 0) {
        throw new InvalidArgumentError(`client version ${apiVersion} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
      }
    }
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
    const segments = path.split('/').filter(Boolean).map(decodeSegment);
    let pathMatched = false;
    for (const route of this.routes) {
      const params = matchSegments(route.segments, segments);
      if (!params) continue;
      pathMatched = true;
      if (route.method !== method) continue;
      const ctx = makeContext(req, res, params, url.searchParams, apiVersion, hijack);
      const result = await route.handler(ctx);
      if (hijack?.taken) return;
      if (!res.headersSent && result !== undefined) sendJson(res, 200, result);
      else if (!res.writableEnded && !res.headersSent) {
        res.writeHead(204);
        res.end();
      }
      return;
    }
    // HEAD is routed as GET, but the spec has HEAD endpoints of its own (`HEAD /containers/{id}/archive`).
    const unimplemented = this.options.notImplemented?.errorFor(req.method ?? method, path) ?? this.options.notImplemented?.errorFor(method, path);
    if (unimplemented) throw unimplemented;
    if (pathMatched) throw new ApiError(`method ${req.method} not allowed for ${path}`, 405);
    throw new NotFoundError(`page not found: ${req.method} ${path}`);
  }
}

/** The request target as a URL; a target that is not one (`//[`, a bare `%`) is a client error. */
function parseUrl(target: string): URL {
  try {
    return new URL(target, 'http://shoal');
  } catch {
    throw new InvalidArgumentError(`invalid request URL: ${JSON.stringify(target.slice(0, 200))}`);
  }
}

/** One path segment, percent-decoded; a stray `%` (`/services/a%zz`) is a client error, not a crash. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new InvalidArgumentError(`invalid path segment ${JSON.stringify(segment.slice(0, 200))}: malformed percent-encoding`);
  }
}

function matchSegments(pattern: string[], actual: string[]): Record<string, string> | undefined {
  if (pattern.length !== actual.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i].startsWith(':')) params[pattern[i].slice(1)] = actual[i];
    else if (pattern[i] !== actual[i]) return undefined;
  }
  return params;
}

function makeContext(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  params: Record<string, string>,
  query: URLSearchParams,
  apiVersion: string,
  hijack?: Hijack,
): RequestContext {
  const rawBody = hijack ? (limit = MAX_JSON_BODY) => upgradeBody(req, hijack, limit) : (limit = MAX_JSON_BODY) =>
    new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > limit) {
          reject(new ApiError(`request body larger than ${limit} bytes`, 413));
          req.destroy();
          return;
        }
        chunks.push(c);
      });
      req.on('end', () => resolve(Buffer.concat(chunks)));
      req.on('error', reject);
    });
  return {
    req,
    res,
    params,
    query,
    apiVersion,
    rawBody,
    hijack,
    async body<T>() {
      const raw = await rawBody();
      if (raw.length === 0) return undefined;
      try {
        return JSON.parse(raw.toString('utf8')) as T;
      } catch (err) {
        throw new InvalidArgumentError(`invalid JSON body: ${(err as Error).message}`);
      }
    },
  };
}

/**
 * The body of an upgrade request (node:http hands those over before reading it): the
 * `Content-Length` bytes from `head`, then the socket; what follows stays in `head`.
 */
function upgradeBody(req: http.IncomingMessage, hijack: Hijack, limit: number): Promise<Buffer> {
  const length = Number(req.headers['content-length'] ?? 0);
  if (!Number.isInteger(length) || length < 0) return Promise.reject(new InvalidArgumentError('invalid Content-Length'));
  if (length > limit) return Promise.reject(new ApiError(`request body larger than ${limit} bytes`, 413));
  return new Promise((resolve, reject) => {
    const take = () => {
      if (hijack.head.length < length) return false;
      const body = hijack.head.subarray(0, length);
      hijack.head = hijack.head.subarray(length);
      resolve(Buffer.from(body));
      return true;
    };
    if (take()) return;
    const onData = (c: Buffer) => {
      hijack.head = Buffer.concat([hijack.head, c]);
      if (take()) { hijack.socket.off('data', onData); hijack.socket.off('end', onEnd); hijack.socket.pause(); }
    };
    const onEnd = () => reject(new InvalidArgumentError('connection closed before the request body ended'));
    hijack.socket.on('data', onData);
    hijack.socket.once('end', onEnd);
  });
}

export function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(res.req?.method === 'HEAD' ? undefined : text);
}

/** Sends `{"message": …}` with the error's status (500 for anything that is not an ApiError). */
export function sendError(res: http.ServerResponse, err: unknown): void {
  const status = err instanceof ApiError ? err.status : 500;
  const message = err instanceof Error ? err.message : String(err);
  if (res.headersSent) {
    // A streaming response already started: all we can do is end it.
    res.destroy(err instanceof Error ? err : undefined);
    return;
  }
  sendJson(res, status, { message });
}

/** Compares dotted versions numerically: negative when a < b. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
