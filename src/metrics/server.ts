/**
 * The `--metrics-addr` listener: plain HTTP, `GET /metrics` in Prometheus text format,
 * as dockerd's `metrics-addr` (off unless asked for). Read-only and unauthenticated, like
 * dockerd's and cAdvisor's: bind it to an address only the monitoring network reaches.
 */
import http from 'node:http';
import type { NodeMetrics } from './registry.ts';

/** A running metrics listener. */
export interface MetricsServer {
  /** The address it listens on (the port filled in when 0 was asked). */
  readonly address: { host: string; port: number };
  close(): Promise<void>;
}

/** How often the event-driven series re-check which Raft node and store to follow, ms. */
const FOLLOW_MS = 2000;

/** Listens on `host:port` and serves `metrics`; rejects when the address cannot be bound. */
export async function serveMetrics(metrics: NodeMetrics, addr: { host: string; port: number }): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('metrics: only /metrics is served here\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('metrics: method not allowed\n');
      return;
    }
    metrics.scrape().then(
      (text) => {
        // Encoded once: a string body is measured (Content-Length or the chunk size) and
        // then encoded again as it is written, each a pass over some 300 KB.
        const body = Buffer.from(text, 'utf8');
        res.writeHead(200, { 'content-type': metrics.contentType, 'content-length': body.length }).end(req.method === 'HEAD' ? undefined : body);
      },
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics: ${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`metrics: cannot listen on ${addr.host}:${addr.port}: ${(err as NodeJS.ErrnoException).code ?? err.message}`)));
    server.listen(addr.port, addr.host, () => resolve());
  });
  // Raft and store events (leader changes, proposal latency) are counted between scrapes:
  // follow a promotion or a new swarm without waiting for a scrape.
  const timer = setInterval(() => metrics.follow(), FOLLOW_MS);
  timer.unref();
  metrics.follow();
  const bound = server.address() as { address: string; port: number };
  return {
    address: { host: bound.address, port: bound.port },
    close: () => {
      clearInterval(timer);
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
