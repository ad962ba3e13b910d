/**
 * The node-to-node endpoint on port 2377: one TLS port for everything nodes say to
 * each other. Plain HTTPS requests serve the CA and the join handshake (joining nodes
 * have no certificate yet, so client certificates are requested but not required at
 * the TLS layer); WebSocket upgrades carry Raft (managers only) and dispatcher
 * sessions (any node of the cluster). Who may call what is decided per route from
 * the peer's certificate — `peerIdentity` — so a worker certificate cannot reach a
 * manager-only endpoint.
 */
import https from 'node:https';
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket, SecureContextOptions } from 'node:tls';
import { Router } from '../common/router.ts';
import { ApiError } from '../api/errors.ts';
import type { Logger } from '../common/logger.ts';
import type { NodeRole } from '../api/types/node.ts';
import { peerIdentity } from '../manager/ca/index.ts';
import type { PeerIdentity } from '../wire/types.ts';

export type { NodeRole };

/** Connections the kernel may queue before this server accepts them. */
const ACCEPT_BACKLOG = 4096;

/** Refuses a request whose peer is not a node of this cluster with at least `role`. */
export function requirePeer(socket: TLSSocket, role: NodeRole | 'any', clusterId: string): PeerIdentity {
  const peer = peerIdentity(socket);
  if (!peer || peer.clusterId !== clusterId) throw new ApiError('a certificate of this swarm is required', 401);
  if (role === 'manager' && peer.role !== 'manager') throw new ApiError(`node ${peer.nodeId} is a worker: this endpoint is for managers only`, 403);
  return peer;
}

/** Handles a WebSocket (or other) upgrade on a path, after the route decided the peer may. */
export type UpgradeHandler = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface NodeServerOptions {
  host: string;
  port: number;
  tls: SecureContextOptions;
  logger: Logger;
}

export class NodeServer {
  readonly router = new Router();
  private readonly upgrades = new Map<string, UpgradeHandler>();
  private server?: https.Server;

  constructor(private readonly opts: NodeServerOptions) {}

  /** Routes upgrades of `path` to `handler`; the handler checks the peer itself. */
  onUpgrade(path: string, handler: UpgradeHandler): void {
    this.upgrades.set(path, handler);
  }

  async listen(): Promise<{ host: string; port: number }> {
    const server = https.createServer(
      { ...this.opts.tls, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' },
      this.router.listener,
    );
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      const path = new URL(req.url ?? '/', 'https://node').pathname;
      const handler = this.upgrades.get(path);
      if (!handler) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
        return;
      }
      try {
        handler(req, socket, head);
      } catch (err) {
        const status = err instanceof ApiError ? err.status : 500;
        socket.end(`HTTP/1.1 ${status} Refused\r\nConnection: close\r\n\r\n`);
        this.opts.logger.warn('upgrade refused', { path, error: err });
      }
    });
    // A malformed TLS handshake or request closes that one connection only.
    server.on('tlsClientError', (err) => this.opts.logger.debug('tls client error', { error: err }));
    server.on('clientError', (_err, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // A new leader takes every node's session at once: a thousand connections must
      // wait in the accept queue (the kernel caps it at net.core.somaxconn), not be dropped
      // to a SYN retry a second later. Node's default is 511.
      server.listen({ port: this.opts.port, host: this.opts.host, backlog: ACCEPT_BACKLOG }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const addr = server.address() as { address: string; port: number };
    return { host: addr.address, port: addr.port };
  }

  /** Replaces the certificate (renewal, promotion) without dropping the port. */
  setSecureContext(tls: SecureContextOptions): void {
    this.server?.setSecureContext(tls);
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}

