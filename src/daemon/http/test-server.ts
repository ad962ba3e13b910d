/**
 * For router tests: a router served over TCP on 127.0.0.1 (an ephemeral port) for the
 * length of one callback, upgrades included, as the daemon serves it.
 */
import http from 'node:http';
import { once } from 'node:events';
import type { Router } from '../../common/router.ts';

/** Runs `fn` with the port `router` listens on, then closes the server and its connections. */
export async function withServer(router: Router, fn: (port: number) => Promise<void>): Promise<void> {
  const server = http.createServer(router.listener);
  server.on('upgrade', router.upgradeListener);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    await fn((server.address() as { port: number }).port);
  } finally {
    server.closeAllConnections();
    server.close();
  }
}
