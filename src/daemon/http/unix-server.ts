/**
 * Serves an HTTP listener on a unix socket. A socket file left by a crashed daemon is
 * removed; one that still answers belongs to a live daemon and is never taken over.
 */
import http from 'node:http';
import net from 'node:net';
import { mkdir, rm, chmod } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Resolves true when something accepts connections on the socket. */
export function socketInUse(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const conn = net.connect(socketPath);
    conn.once('connect', () => {
      conn.destroy();
      resolve(true);
    });
    conn.once('error', () => resolve(false));
  });
}

/** How long an idle client connection is kept open, ms: longer than clients' own idle timeouts. */
export const KEEP_ALIVE_TIMEOUT_MS = 120_000;

export async function listenUnix(listener: http.RequestListener, socketPath: string): Promise<http.Server> {
  await mkdir(dirname(socketPath), { recursive: true });
  if (await socketInUse(socketPath)) {
    throw new Error(`another daemon is already listening on unix://${socketPath}`);
  }
  await rm(socketPath, { force: true });
  const server = http.createServer(listener);
  // An idle keep-alive connection is closed by the client, never by us first: a server that
  // closes it as the client sends its next request on it resets that request (ECONNRESET).
  // Node's agent drops idle sockets after 5 s and Go's (docker) after 90 s, so ours waits
  // longer than both. (Docker's daemon sets no idle timeout.) Shutdown is not held by idle
  // connections: `closeServer` ends them.
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Root only, as Docker's socket (group docker is not a thing here).
  await chmod(socketPath, 0o660);
  return server;
}

/** Stops accepting, ends idle keep-alive connections, and waits for in-flight requests. */
export async function closeServer(server: http.Server, socketPath?: string): Promise<void> {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    // In-flight streaming responses (logs --follow, events) would hold close() forever.
    setTimeout(() => server.closeAllConnections(), 2_000).unref();
  });
  if (socketPath) await rm(socketPath, { force: true });
}
