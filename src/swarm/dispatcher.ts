/**
 * The manager side of node sessions (`/dispatcher` on 2377): every node of the swarm
 * (managers too) keeps one WebSocket to the leader and sends heartbeats on it. A
 * manager that is not the leader answers with a redirect naming the leader, so
 * sessions always end at the node that writes node status. Later, assignments travel
 * on the same session.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Manager } from '../manager/manager.ts';
import { requirePeer } from './node-server.ts';
import type { SessionFrame } from './types.ts';
import type { Logger } from '../daemon/logger.ts';

/** Frames are tiny; anything bigger is a broken or hostile peer. */
const MAX_FRAME = 64 * 1024;

export class Dispatcher {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME, perMessageDeflate: false });

  constructor(
    private readonly manager: Manager,
    private readonly clusterId: string,
    private readonly managers: () => Record<string, string>,
    private readonly logger: Logger,
  ) {}

  /** Accepts an upgrade from a node of this swarm (any role); throws 401 otherwise. */
  accept(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const peer = requirePeer(req.socket as TLSSocket, 'any', this.clusterId);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.session(ws, peer.nodeId));
  }

  private session(ws: WebSocket, nodeId: string): void {
    const send = (f: SessionFrame) => ws.send(JSON.stringify(f));
    ws.on('error', () => {});
    if (!this.manager.isLeader) {
      send({ type: 'redirect', leader: this.manager.leaderAddr(), managers: this.managers() });
      ws.close(1000, 'not the leader');
      return;
    }
    ws.on('message', (data, isBinary) => {
      let frame: SessionFrame;
      try {
        if (isBinary) throw new Error('binary frame');
        frame = JSON.parse(String(data)) as SessionFrame;
        if (frame.type !== 'heartbeat' || typeof frame.addr !== 'string') throw new Error(`unexpected frame ${String(frame.type)}`);
      } catch (err) {
        // A malformed frame closes this one session, never the daemon.
        this.logger.warn('dispatcher: malformed frame, closing session', { 'node.id': nodeId, error: err });
        ws.close(1007, 'malformed frame');
        return;
      }
      if (!this.manager.isLeader) {
        send({ type: 'redirect', leader: this.manager.leaderAddr(), managers: this.managers() });
        ws.close(1000, 'not the leader');
        return;
      }
      this.manager.heartbeat(nodeId, frame.addr);
      // The role the store gives the node: a promoted or demoted node follows it.
      const role = this.manager.store.view((tx) => tx.get('node', nodeId))?.Spec.Role;
      send({ type: 'ack', heartbeatMs: this.manager.heartbeatMs, managers: this.managers(), ...(role ? { role } : {}) });
    });
  }

  close(): void {
    for (const c of this.wss.clients) c.terminate();
    this.wss.close();
  }
}
