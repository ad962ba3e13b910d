/**
 * For route tests: a real single-node swarm on loopback (store, Raft, controllers), the
 * routes a test adds served on a unix socket in a fresh temp directory, and a client to
 * it. The node is drained, so the tasks it makes stay pending.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { SwarmNode } from '../../swarm/swarm-node.ts';
import { freePort, loopbackContext } from '../../swarm/test-node.ts';
import { Router } from '../../common/router.ts';
import { listenUnix, closeServer } from '../http/unix-server.ts';
import { ApiClient } from '../../api/client.ts';
import { ApiError } from '../../api/errors.ts';

/** A running loopback swarm with routes; `close` stops it and removes `dir`. */
export interface LoopbackRoutes {
  /** The temp directory: the node's data under `data/`, the socket `api.sock`. */
  dir: string;
  node: SwarmNode;
  api: ApiClient;
  close(): Promise<void>;
}

/** Names of the run: the temp directory's prefix (`shoal-TMP-`) and the node's hostname. */
export interface LoopbackNames {
  tmp: string;
  hostname: string;
}

/** Starts the node, lets `addRoutes` fill a router, and serves it on `DIR/api.sock`. */
export async function startLoopbackRoutes(names: LoopbackNames, addRoutes: (router: Router, node: SwarmNode) => void): Promise<LoopbackRoutes> {
  const dir = await mkdtemp(join(tmpdir(), `shoal-${names.tmp}-`));
  const sock = join(dir, 'api.sock');
  let node: SwarmNode | undefined;
  try {
    const port = await freePort();
    const ctx = loopbackContext(join(dir, 'data'), port, names.hostname);
    node = await SwarmNode.init(ctx, { ListenAddr: ctx.listenAddr, AdvertiseAddr: ctx.advertiseAddr, Availability: 'drain' });
    const router = new Router();
    addRoutes(router, node);
    const server = await listenUnix(router.listener, sock);
    const started = node;
    return {
      dir, node: started, api: new ApiClient(`unix://${sock}`),
      async close() {
        try {
          await closeServer(server, sock);
          // Resolves once nothing of the node writes under `dir` (a renewal in flight ends first).
          await started.stop();
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    // A start that failed half-way leaves nothing behind.
    try {
      await node?.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    throw err;
  }
}

/** The API error a request fails with (status and message); fails the test if it succeeds. */
export async function failure(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  assert.unreachable('the request should have failed');
  throw new Error('unreachable');
}
