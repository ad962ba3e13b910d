/**
 * Raft messages over WebSockets (`ws`) on TLS, mutual TLS when both ends present
 * certificates. Each node listens on one HTTPS port (path `/raft` by default) and opens
 * one outgoing connection per peer, opened as soon as the peer is known and kept open; a
 * connection carries messages one way, from the node that opened it (the peer's replies
 * come over the peer's own connection).
 *
 * Per peer: a bounded queue (full → the message is dropped and the peer reported
 * unreachable; Raft retransmits), batching (everything queued is sent as one frame of
 * the binary codec, up to `maxFrameBytes`; a snapshot travels in a frame of its own and
 * its outcome is reported), back-pressure (no new frame while the socket buffers more
 * than `highWaterBytes`) and reconnect with exponential backoff.
 *
 * A frame that fails to decode closes that one incoming connection (code 1007); the
 * process and the other connections carry on. With `authorizePeer`, a connection may only
 * carry messages from a node its client certificate is allowed to speak for (else 1008).
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { WebSocket, WebSocketServer, type ClientOptions, type RawData } from 'ws';
import { MessageType, type Message, type NodeId } from '../types.ts';
import { realClock, type Clock } from '../node/clock.ts';
import { decodeFrame, encodeFrame, messageSize } from './codec.ts';
import type { Transport, TransportHandler } from './transport.ts';

type Pem = string | Buffer;

export interface WsTransportOptions {
  /** This node's ID; incoming messages addressed to another ID are dropped. */
  id: NodeId;
  /** Where to listen; port 0 picks a free port (see `port()`). Omit for a transport that only sends. */
  listen?: { host: string; port: number };
  /** This node's server certificate and key (PEM), and the CA that signs peers' certificates. */
  tls: { cert: Pem; key: Pem; ca: Pem };
  /**
   * Client certificate and key presented on outgoing connections (mutual TLS). Default:
   * the server certificate (`tls.cert`/`tls.key`), which must then allow client auth.
   * Set to null to connect without a client certificate.
   */
  clientCert?: { cert: Pem; key: Pem } | null;
  /** Server: ask connecting peers for a certificate. Default true. */
  requestCert?: boolean;
  /** Server: refuse peers without a certificate signed by `ca`; client: refuse servers likewise. Default true. */
  rejectUnauthorized?: boolean;
  /** Client: checks the server certificate's identity; default Node's host-name check. Return an Error to refuse. */
  checkServerIdentity?: (host: string, cert: PeerCertificate) => Error | undefined;
  /**
   * Server: decides whether the holder of `cert` (already verified against `ca`) may send
   * messages `from` that node, e.g. by its CN or a role in its OU. Checked on a connection's
   * first message; a refusal, or a later message from another node, closes the connection
   * (1008). Default: any certificate from `ca` may speak for any node.
   */
  authorizePeer?: (cert: PeerCertificate, from: NodeId) => boolean;
  /** URL path of the endpoint. Default `/raft`. */
  path?: string;
  /** Messages queued per peer before new ones are dropped. Default 4096. */
  maxQueue?: number;
  /** Bytes of messages per frame (a single bigger message still goes alone). Default 1 MiB. */
  maxFrameBytes?: number;
  /** No new frame while a connection buffers more than this many bytes. Default 4 MiB. */
  highWaterBytes?: number;
  /** Largest incoming frame accepted, bytes (snapshots travel in one frame). Default 512 MiB. */
  maxPayload?: number;
  /** Reconnect backoff, ms: first delay and cap. Default 25 and 1000. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  clock?: Clock;
  logger?: { warn(msg: string, fields?: Record<string, unknown>): void };
}

const NULL_HANDLER: TransportHandler = { onMessage() {}, onUnreachable() {}, onSnapshotStatus() {} };

/** One outgoing connection and its queue. */
class Peer {
  ws: WebSocket | undefined;
  open = false;
  queue: Message[] = [];
  backoffMs: number;
  cancelRetry: (() => void) | undefined;
  closed = false;

  constructor(readonly id: NodeId, public address: string, private readonly t: WsTransport) {
    this.backoffMs = t.opts.reconnectMinMs;
  }

  enqueue(m: Message): boolean {
    if (this.queue.length >= this.t.opts.maxQueue) return false;
    this.queue.push(m);
    return true;
  }

  /** Connects if idle, or sends what is queued if connected. */
  kick(): void {
    if (this.closed) return;
    if (this.open) this.flush();
    else if (!this.ws && !this.cancelRetry) this.connect();
  }

  private connect(): void {
    const o = this.t.opts;
    const client = o.clientCert === undefined ? { cert: o.tls.cert, key: o.tls.key } : o.clientCert;
    // ws types `checkServerIdentity` after an old signature; Node's TLS one is what is called.
    const options: Record<string, unknown> = {
      ca: o.tls.ca,
      ...(client ? { cert: client.cert, key: client.key } : {}),
      rejectUnauthorized: o.rejectUnauthorized,
      ...(o.checkServerIdentity ? { checkServerIdentity: o.checkServerIdentity } : {}),
      perMessageDeflate: false,
      maxPayload: o.maxPayload,
      // A connect started while the peer was cut off must not wait out TCP's SYN retries
      // (over a minute) once the path is back: give up and retry with backoff.
      handshakeTimeout: 2000,
      // RFC 6455 masking protects caching proxies from crafted plain-text frames; inside TLS
      // it only costs CPU on both ends. A zero mask makes ws skip it (the frame stays valid).
      generateMask: (mask: Buffer) => mask.fill(0),
    };
    const ws = new WebSocket(`wss://${this.address}${o.path}`, options as ClientOptions);
    this.ws = ws;
    ws.on('open', () => {
      if (this.ws !== ws) return;
      this.open = true;
      this.backoffMs = o.reconnectMinMs;
      this.flush();
    });
    ws.on('error', (err) => {
      if (this.ws === ws) o.logger?.warn('raft: transport: connection error', { 'peer.id': this.id, error: String(err) });
    });
    ws.on('close', () => this.onClose(ws));
    // The peer never sends on this connection; anything it does send is ignored.
    ws.on('message', () => {});
  }

  private onClose(ws: WebSocket): void {
    if (this.ws !== ws) return;
    const wasOpen = this.open;
    this.ws = undefined;
    this.open = false;
    this.failQueue();
    if (wasOpen && !this.closed) queueMicrotask(() => this.t.handler.onPeerDown?.(this.id));
    if (this.closed) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.t.opts.reconnectMaxMs);
    this.cancelRetry = this.t.opts.clock.setTimer(delay, () => {
      this.cancelRetry = undefined;
      // Reconnect eagerly: a restarted peer should hear from its leader at once.
      if (!this.closed) this.connect();
    });
  }

  /** Drops everything queued (connection lost), reporting it. */
  failQueue(): void {
    if (this.queue.length === 0) return;
    const dropped = this.queue;
    this.queue = [];
    this.t.reportDropped(this.id, dropped);
  }

  flush(): void {
    const ws = this.ws;
    if (!ws || !this.open) return;
    const o = this.t.opts;
    while (this.queue.length > 0 && ws.bufferedAmount < o.highWaterBytes) {
      let n = 0;
      let bytes = 0;
      let snap: Message | undefined;
      if (this.queue[0].type === MessageType.Snap) {
        snap = this.queue[0];
        n = 1;
      } else {
        while (n < this.queue.length && this.queue[n].type !== MessageType.Snap) {
          bytes += messageSize(this.queue[n]);
          n++;
          if (bytes >= o.maxFrameBytes) break;
        }
      }
      const batch = this.queue.splice(0, n);
      let frame: Uint8Array;
      try {
        frame = encodeFrame(batch);
      } catch (err) {
        // A message we cannot encode is a bug in the caller; drop it rather than the connection.
        o.logger?.warn('raft: transport: cannot encode', { 'peer.id': this.id, error: String(err) });
        this.t.reportDropped(this.id, batch);
        continue;
      }
      ws.send(frame, { binary: true }, (err) => {
        if (snap) this.t.handler.onSnapshotStatus(this.id, !err);
        else if (err) this.t.handler.onUnreachable(this.id);
        if (!err && this.ws === ws && this.queue.length > 0) this.flush();
      });
    }
  }

  close(): void {
    this.closed = true;
    this.cancelRetry?.();
    this.cancelRetry = undefined;
    const ws = this.ws;
    this.ws = undefined;
    this.open = false;
    this.failQueue();
    ws?.terminate();
  }
}

/** The `Transport` over wss. See the module comment for the behaviour. */
export class WsTransport implements Transport {
  /** @internal */
  readonly opts: Required<Omit<WsTransportOptions, 'listen' | 'checkServerIdentity' | 'logger' | 'clientCert' | 'authorizePeer'>> &
    Pick<WsTransportOptions, 'listen' | 'checkServerIdentity' | 'logger' | 'clientCert' | 'authorizePeer'>;
  /** @internal */
  handler: TransportHandler = NULL_HANDLER;
  private readonly peers = new Map<NodeId, Peer>();
  private server: Server | undefined;
  private wss: WebSocketServer | undefined;
  private upgrader: WebSocketServer | undefined;
  private closed = false;
  private started = false;

  constructor(options: WsTransportOptions) {
    this.opts = {
      requestCert: true,
      rejectUnauthorized: true,
      path: '/raft',
      maxQueue: 4096,
      maxFrameBytes: 1 << 20,
      highWaterBytes: 4 << 20,
      maxPayload: 512 << 20,
      reconnectMinMs: 25,
      reconnectMaxMs: 1000,
      clock: realClock,
      ...options,
    };
  }

  /**
   * Replaces the certificate, key and trusted CA (a renewed certificate, a rotated root):
   * connections made from now on use them; open ones carry on. The listener this
   * transport runs itself (`listen`) keeps the ones it started with; a transport fed by
   * `acceptUpgrade` is served by its caller's server, which swaps them there.
   */
  setTls(tls: { cert: Pem; key: Pem; ca: Pem }): void {
    this.opts.tls = { ...tls };
  }

  setHandler(handler: TransportHandler): void {
    this.handler = handler;
  }

  async start(): Promise<void> {
    this.started = true;
    for (const p of this.peers.values()) p.kick();
    const l = this.opts.listen;
    if (!l) return;
    const server = createServer({
      cert: this.opts.tls.cert,
      key: this.opts.tls.key,
      ca: this.opts.tls.ca,
      requestCert: this.opts.requestCert,
      rejectUnauthorized: this.opts.rejectUnauthorized,
    });
    const wss = new WebSocketServer({ server, path: this.opts.path, perMessageDeflate: false, maxPayload: this.opts.maxPayload });
    wss.on('connection', (ws, req) => this.accept(ws, req));
    wss.on('error', () => {});
    this.server = server;
    this.wss = wss;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(l.port, l.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  /**
   * Accepts a WebSocket upgrade that arrived on a server the application owns (one
   * port for several protocols, as Shoal's 2377). The caller has already checked the
   * peer; incoming connections are then handled as on the transport's own server.
   */
  acceptUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.upgrader ??= new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: this.opts.maxPayload });
    this.upgrader.handleUpgrade(req, socket, head, (ws) => {
      if (this.closed) ws.terminate();
      else this.accept(ws, req);
    });
  }

  /** The port the server listens on (useful with `listen.port` 0). */
  port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  private accept(ws: WebSocket, req: IncomingMessage): void {
    let broken = false;
    /** The one node whose messages this connection carries, once its first message is checked. */
    let sender: NodeId | undefined;
    const refuse = (code: number, reason: string, fields: Record<string, unknown>) => {
      broken = true;
      this.opts.logger?.warn(`raft: transport: ${reason}, closing connection`, fields);
      ws.close(code, reason);
      // Do not wait for a broken peer's closing handshake.
      this.opts.clock.setTimer(1000, () => ws.terminate());
    };
    ws.on('error', () => {});
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (broken) return;
      let messages: Message[];
      try {
        if (!isBinary) throw new Error('text frame');
        messages = decodeFrame(toBytes(data));
      } catch (err) {
        refuse(1007, 'malformed frame', { error: String(err) });
        return;
      }
      for (const m of messages) {
        if (sender === undefined && this.opts.authorizePeer) {
          const cert = (req.socket as TLSSocket).getPeerCertificate?.() ?? ({} as PeerCertificate);
          if (!this.opts.authorizePeer(cert, m.from)) {
            refuse(1008, 'peer not authorized', { 'peer.id': m.from });
            return;
          }
        }
        if (sender !== undefined && m.from !== sender) {
          refuse(1008, 'sender changed on a connection', { 'peer.id': m.from, expected: sender });
          return;
        }
        sender = m.from;
        if (m.to === this.opts.id) this.handler.onMessage(m);
      }
    });
  }

  send(messages: Message[]): void {
    if (this.closed) return;
    const touched = new Set<Peer>();
    let dropped: Map<NodeId, Message[]> | undefined;
    for (const m of messages) {
      const peer = this.peers.get(m.to);
      if (peer && peer.enqueue(m)) {
        touched.add(peer);
        continue;
      }
      dropped ??= new Map();
      const list = dropped.get(m.to) ?? [];
      list.push(m);
      dropped.set(m.to, list);
    }
    for (const p of touched) p.kick();
    if (dropped) for (const [id, list] of dropped) this.reportDropped(id, list);
  }

  /** @internal Reports dropped messages: unreachable once, and a failed status per snapshot. Asynchronous. */
  reportDropped(id: NodeId, messages: Message[]): void {
    const snaps = messages.filter((m) => m.type === MessageType.Snap).length;
    queueMicrotask(() => {
      this.handler.onUnreachable(id);
      for (let i = 0; i < snaps; i++) this.handler.onSnapshotStatus(id, false);
    });
  }

  /**
   * Adds or re-addresses a peer. Once started, the connection is opened at once and kept
   * (reconnecting with backoff), so an election never waits for a TLS handshake.
   */
  addPeer(id: NodeId, address: string): void {
    if (id === this.opts.id) return;
    const peer = this.peers.get(id);
    if (peer && peer.address === address) return;
    peer?.close();
    const next = new Peer(id, address, this);
    this.peers.set(id, next);
    if (this.started) next.kick();
  }

  removePeer(id: NodeId): void {
    this.peers.get(id)?.close();
    this.peers.delete(id);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.peers.values()) p.close();
    this.peers.clear();
    if (this.upgrader) {
      for (const c of this.upgrader.clients) c.terminate();
      this.upgrader.close();
    }
    if (this.wss) {
      for (const c of this.wss.clients) c.terminate();
      this.wss.close();
    }
    if (this.server) {
      const server = this.server;
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}
