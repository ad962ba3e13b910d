/**
 * The dashboard's HTTP server (`--dashboard-addr`): the page and its static files from
 * `static/` beside this file (read per request, no build step), the cluster view as
 * JSON (`/api/view`) and as Server-Sent Events (`/api/live`: a new view after each change
 * in the store, and `usage` events with CPU and memory figures), and a service's log
 * tail (`/api/services/{id}/logs`, handed to the control API's own log route).
 * Read-only: every other method is refused with 405. Who may read it: on loopback,
 * anyone on the machine (auth.ts); elsewhere the bearer token printed at start, or,
 * when the daemon has `--tlsverify` material, a client certificate of its CA (HTTPS).
 */
import http from 'node:http';
import https from 'node:https';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { authorize, isLoopback, tokenMatches, TOKEN_COOKIE } from './auth.ts';
import type { LiveFeed } from './live-feed.ts';
import type { UsageFeed } from './usage-feed.ts';

const STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url));
const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
};
/** Comment lines keep idle SSE connections open through proxies and let dead ones be noticed (ms). */
const SSE_KEEPALIVE_MS = 15_000;
/** Log lines asked of each task when a service's tail opens. */
const DEFAULT_TAIL = 50;

/** What the dashboard logs through (the daemon's logger fits). */
export interface DashboardLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
}

export interface DashboardOptions {
  /** Where to listen. */
  addr: { ip: string; port: number };
  feed: LiveFeed;
  /** Resource figures for the sparklines; none drawn without it. */
  usage?: UsageFeed;
  /** The control API's request listener: log tails are handed to its `/services/{id}/logs`. */
  api: http.RequestListener;
  logger: DashboardLogger;
  /** The token for a non-loopback address. Default: 32 random bytes, hex. Ignored on loopback unless `requireToken`. */
  token?: string;
  /**
   * Serve HTTPS and require client certificates signed by `caCert` (PEM file paths, the
   * daemon's `--tlsverify` material): the certificate is the credential, no token.
   */
  tls?: { caCert: string; cert: string; key: string };
  /** Require the token on loopback too (a machine shared with people who must not read the cluster). Default: only off loopback. */
  requireToken?: boolean;
}

/** A running dashboard. */
export interface Dashboard {
  /** `http://IP:PORT/` it serves (the port filled in when 0 was asked for). */
  url: string;
  /** The bearer token; undefined on loopback and with client certificates, where none is needed. */
  token?: string;
  close(): Promise<void>;
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** Headers every answer carries: the page loads only its own scripts and styles and is never framed. */
function secure(res: http.ServerResponse): void {
  res.setHeader('Content-Security-Policy', "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
}

async function serveStatic(res: http.ServerResponse, name: string): Promise<void> {
  const m = /^[a-z0-9-]+\.(html|js|css|svg)$/.exec(name);
  if (!m) return send(res, 404, { message: `dashboard: no file ${name}` });
  let body: Buffer;
  try {
    body = await readFile(join(STATIC_DIR, name));
  } catch {
    return send(res, 404, { message: `dashboard: no file ${name}` });
  }
  res.writeHead(200, { 'Content-Type': TYPES[m[1]], 'Content-Length': body.length, 'Cache-Control': 'no-cache' });
  res.end(body);
}

/** `/api/live`: the view now, then one `view` event per change, until the client leaves. */
function serveLive(req: http.IncomingMessage, res: http.ServerResponse, feed: LiveFeed, usage: UsageFeed | undefined): void {
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
  res.write('retry: 1000\n\n');
  const stop = feed.listen((view) => {
    if (view) res.write(`event: view\ndata: ${JSON.stringify(view)}\n\n`);
    else res.write('event: idle\ndata: {"message":"this node runs no manager: open the dashboard of a manager"}\n\n');
  });
  const stopUsage = usage?.listen((p) => res.write(`event: usage\ndata: ${JSON.stringify(p)}\n\n`));
  const keepalive = setInterval(() => res.write(': keepalive\n\n'), SSE_KEEPALIVE_MS);
  keepalive.unref();
  const finish = () => {
    stop();
    stopUsage?.();
    clearInterval(keepalive);
  };
  req.socket.once('close', finish);
  res.once('close', finish);
}

/** Hands a log tail to the control API's log route, with the query the page may choose (tail) and the rest fixed. */
function serveLogs(req: http.IncomingMessage, res: http.ServerResponse, api: http.RequestListener, service: string, query: URLSearchParams): void {
  const tailQ = query.get('tail');
  if (tailQ !== null && !/^\d{1,5}$/.test(tailQ)) return send(res, 400, { message: `dashboard: invalid tail ${JSON.stringify(tailQ)}: want a number of lines (0-99999)` });
  const tail = tailQ ?? String(DEFAULT_TAIL);
  const q = new URLSearchParams({ stdout: '1', stderr: '1', follow: '1', timestamps: '1', details: '1', tail });
  req.url = `/services/${encodeURIComponent(service)}/logs?${q}`;
  api(req, res);
}

/** Starts the dashboard; rejects if the address cannot be bound. */
export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const tokenMode = !opts.tls && (opts.requireToken === true || !isLoopback(opts.addr.ip));
  const token = tokenMode ? opts.token ?? randomBytes(32).toString('hex') : undefined;
  const handler: http.RequestListener = (req, res) => {
    secure(res);
    const url = new URL(req.url ?? '/', 'http://dashboard');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, 405, { message: `dashboard: ${req.method} refused: the dashboard is read-only` });
    }
    // Opening /?token=… once trades the token for a cookie and drops it from the address bar.
    const given = url.searchParams.get('token');
    if (token !== undefined && url.pathname === '/' && given !== null && tokenMatches(given, token)) {
      res.writeHead(303, { Location: '/', 'Set-Cookie': `${TOKEN_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/` });
      return res.end();
    }
    // With client certificates the TLS handshake already refused everyone else.
    const decision = opts.tls ? { ok: true as const } : authorize({ host: req.headers.host, authorization: req.headers.authorization, cookie: req.headers.cookie }, token);
    if (!decision.ok) return send(res, decision.status, { message: decision.message });
    const path = url.pathname;
    if (path === '/' || path === '/index.html') return void serveStatic(res, 'index.html');
    if (path.startsWith('/static/')) return void serveStatic(res, path.slice('/static/'.length));
    if (path === '/api/view') {
      const view = opts.feed.snapshot();
      return view ? send(res, 200, view) : send(res, 503, { message: 'dashboard: this node runs no manager' });
    }
    if (path === '/api/live') return serveLive(req, res, opts.feed, opts.usage);
    const logs = /^\/api\/services\/([^/]+)\/logs$/.exec(path);
    if (logs) return serveLogs(req, res, opts.api, decodeURIComponent(logs[1]), url.searchParams);
    send(res, 404, { message: `dashboard: no page ${path}` });
  };
  let server: http.Server;
  if (opts.tls) {
    const [ca, cert, key] = await Promise.all([opts.tls.caCert, opts.tls.cert, opts.tls.key].map((f) => readFile(f)));
    server = https.createServer({ ca, cert, key, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' }, handler);
  } else {
    server = http.createServer(handler);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.addr.port, opts.addr.ip, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as { port: number };
  const host = opts.addr.ip.includes(':') ? `[${opts.addr.ip}]` : opts.addr.ip;
  const url = `${opts.tls ? 'https' : 'http'}://${host}:${port}/`;
  if (token) {
    opts.logger.info('dashboard listening; open it with its token', { url, 'dashboard.url': `${url}?token=${token}` });
    // Printed, not only logged: the person starting the daemon needs it to open the page.
    process.stderr.write(`shoal: dashboard on ${url} — token ${token} (open ${url}?token=${token})\n`);
  } else {
    opts.logger.info(opts.tls ? 'dashboard listening; clients need a certificate of the --tlscacert CA' : 'dashboard listening', { url });
  }
  return {
    url,
    token,
    close: () => new Promise<void>((resolve) => {
      opts.feed.close();
      opts.usage?.close();
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
