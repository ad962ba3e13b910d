/**
 * The node side of its session with the managers: one WebSocket over mutual TLS to
 * the leader's dispatcher, a heartbeat every period, and failover — on a redirect, a
 * closed connection or a missed answer it moves to the next manager it knows of
 * (the leader first when one is named). The managers' answers keep the list fresh.
 */
import { WebSocket } from 'ws';
import type { NodeTLS } from '../manager/ca/index.ts';
import { handshakeTimeout, reconnectDelay } from './session-backoff.ts';
import type { AttachmentSessionFrame, NodeTLSInfo, SessionFrame, TaskStatusUpdate } from '../wire/types.ts';

/** An attachment request as the caller gives it (the session numbers it). */
export type AttachmentRequest =
  | Omit<Extract<AttachmentSessionFrame, { type: 'attachment.create' }>, 'id'>
  | Omit<Extract<AttachmentSessionFrame, { type: 'attachment.remove' }>, 'id'>;
/** The leader's answer to an attachment request. */
export type AttachmentResult = Extract<AttachmentSessionFrame, { type: 'attachment.result' }>;
import type { NodeDescription, NodeRole, NodeState } from '../api/types/node.ts';
import type { Logger } from '../common/logger.ts';
import { monotonicMs } from '../common/monotonic.ts';

export interface SessionOptions {
  tls: NodeTLS;
  /** This node's advertised address (IP:PORT), sent with each heartbeat. */
  addr: string;
  managers: Record<string, string>;
  heartbeatMs: number;
  logger: Logger;
  /** Told whenever the managers' list changes, so it can be persisted. */
  onManagers?: (managers: Record<string, string>) => void;
  /** Told of each assignments frame from the leader (the whole set first on every session). */
  onAssignments?: (frame: Extract<SessionFrame, { type: 'assignments' }>) => void;
  /** This node's TLS state, reported in the first heartbeat of every session (root CA rotation). */
  tlsInfo?: NodeTLSInfo;
  /** This node's description of itself, stated in the first heartbeat of every session (a restarted node may run a new release). */
  description?: NodeDescription;
  /** Told of each network view from the leader (the whole view, first on every session, then on change). */
  onNetworkView?: (view: Extract<SessionFrame, { type: 'network' }>['view']) => void;
  /** Told of the leader's network view watermark (every node applied views of at least this generation). */
  onNetworkWatermark?: (generation: number) => void;
  /** Told of each log subscription frame, with the way back on that session and its end (`log-publisher.ts`). */
  onLogFrame?: (frame: SessionFrame, ctx: { send(f: SessionFrame): boolean; signal: AbortSignal }) => void;
  /** Told of each answer to a heartbeat: the time since the last heartbeat went out, ms, and the manager (IP:PORT) that answered (benchmarks: heartbeat lag, failover). */
  onAck?: (rttMs: number, addr: string) => void;
  /** Random source in [0, 1) for the reconnection delays (`session-backoff.ts`). Default Math.random. */
  rand?: () => number;
}

export class Session {
  private ws?: WebSocket;
  private managers: Record<string, string>;
  private heartbeatMs: number;
  private nextAddr?: string;
  private cursor = 0;
  /** The manager whose connection just closed: the next pick from the list skips it once. */
  private lostAddr?: string;
  /** The manager of the connection open or being opened. */
  private currentAddr?: string;
  private timer?: NodeJS.Timeout;
  private retry?: NodeJS.Timeout;
  private lastAck = 0;
  private closed = false;
  /** The role the leader last said this node has (promotion / demotion). */
  desiredRole?: NodeRole;
  /** The node's state in the leader's store, as of the last answer ('ready' once the managers see it). */
  nodeState?: NodeState;
  /** Whether the leader's Raft configuration had this node, as of the last answer. */
  raftMember?: boolean;
  /** What the leader last said this node's certificate should converge on (root CA rotation). */
  caTarget?: { root: string; issuer: string; rootPem?: string };
  private tlsSent?: WebSocket;
  /**
   * The connection a leader has spoken on (an ack or assignments; only a leader sends
   * either). A manager holding a session during an election (`leader-wait.ts`) reads none
   * of its frames: reports sent there would be lost, so they wait for the leader's.
   */
  private leaderWs?: WebSocket;
  /** When the last heartbeat went out (ms), for `onAck`. */
  private beatAt = 0;
  /** Connection attempts in a row that closed before an answer (reconnection backoff). */
  private failures = 0;
  /** Connection attempts in a row refused outright (ECONNREFUSED). */
  private refusals = 0;

  constructor(private opts: SessionOptions) {
    this.managers = { ...opts.managers };
    this.heartbeatMs = opts.heartbeatMs;
    // Each node starts its round of the managers at a random place: with the same list and
    // the same history, every node of a swarm would otherwise try the same manager first,
    // and after a leader dies all of them would crowd one follower while it votes.
    this.cursor = Math.floor((opts.rand ?? Math.random)() * 0x10000);
  }

  start(): void {
    this.connect();
  }

  /** Whether the leader answered within the last few periods. */
  get connected(): boolean {
    return monotonicMs() - this.lastAck < this.heartbeatMs * 3;
  }

  private pickAddr(): string | undefined {
    if (this.nextAddr) {
      const a = this.nextAddr;
      this.nextAddr = undefined;
      this.lostAddr = undefined;
      return a;
    }
    const addrs = [...new Set(Object.values(this.managers))].sort();
    if (addrs.length === 0) return undefined;
    // After a redirect the cursor points anywhere: a session that lost its leader would
    // try that dead manager next once in every few, then wait to retry elsewhere.
    const lost = this.lostAddr;
    this.lostAddr = undefined;
    const a = addrs[this.cursor++ % addrs.length];
    return a === lost && addrs.length > 1 ? addrs[this.cursor++ % addrs.length] : a;
  }

  private connect(): void {
    if (this.closed) return;
    const addr = this.pickAddr();
    if (!addr) return this.scheduleRetry(1000);
    this.currentAddr = addr;
    const ws = new WebSocket(`wss://${addr}/dispatcher`, {
      ...this.opts.tls.unpooledClientOptions(),
      perMessageDeflate: false,
      handshakeTimeout: handshakeTimeout(this.heartbeatMs),
    });
    this.ws = ws;
    let redirected = false;
    let refused = false;
    // Log subscriptions taken on this connection end with it.
    const logsEnd = new AbortController();
    this.logsEnd = logsEnd;
    const sendOnThis = (out: SessionFrame) => ws.readyState === WebSocket.OPEN && (ws.send(JSON.stringify(out)), true);
    const arm = () => {
      clearInterval(this.timer);
      this.timer = setInterval(() => {
        // No answer for three periods: the manager is gone or cut off; try another.
        if (monotonicMs() - this.lastAck > this.heartbeatMs * 3 && this.lastAck !== 0) ws.terminate();
        else this.beat();
      }, this.heartbeatMs);
    };
    ws.on('open', () => {
      this.beat();
      arm();
    });
    ws.on('message', (data) => {
      let f: SessionFrame;
      try {
        f = JSON.parse(String(data)) as SessionFrame;
      } catch {
        ws.terminate();
        return;
      }
      if ((f.type === 'ack' || f.type === 'redirect') && f.managers && Object.keys(f.managers).length) this.updateManagers(f.managers);
      if (f.type === 'ack' || f.type === 'assignments') this.leaderWs = ws;
      if (f.type === 'assignments') {
        this.opts.onAssignments?.(f);
      } else if (f.type === 'logs.subscribe' || f.type === 'logs.cancel' || f.type === 'logs' || f.type === 'logs.end') {
        this.opts.onLogFrame?.(f, { send: sendOnThis, signal: logsEnd.signal });
      } else if (f.type === 'attachment.result') {
        const p = typeof f.id === 'string' ? this.attachmentWaiters.get(f.id) : undefined;
        if (p) { this.attachmentWaiters.delete(f.id); p.resolve(f); }
      } else if (f.type === 'network') {
        if (f.view && Array.isArray(f.view.networks)) this.opts.onNetworkView?.(f.view);
      } else if (f.type === 'network.watermark') {
        if (Number.isSafeInteger(f.generation)) this.opts.onNetworkWatermark?.(f.generation);
      } else if (f.type === 'ack') {
        this.lastAck = monotonicMs();
        this.failures = 0;
        this.opts.onAck?.(this.lastAck - this.beatAt, addr);
        if (f.role) this.desiredRole = f.role;
        if (f.state) this.nodeState = f.state;
        if (typeof f.raftMember === 'boolean') this.raftMember = f.raftMember;
        if (f.ca && typeof f.ca.root === 'string' && typeof f.ca.issuer === 'string') this.caTarget = f.ca;
        // The swarm's period changed (`swarm update --dispatcher-heartbeat`): beat at the new one.
        if (f.heartbeatMs > 0 && f.heartbeatMs !== this.heartbeatMs) {
          this.heartbeatMs = f.heartbeatMs;
          arm();
        }
      } else if (f.type === 'redirect') {
        redirected = true;
        this.nextAddr = f.leader;
      }
    });
    ws.on('error', (err) => {
      if ((err as NodeJS.ErrnoException).code === 'ECONNREFUSED') refused = true;
      this.opts.logger.debug('session error', { addr, error: err });
    });
    ws.on('close', () => {
      logsEnd.abort();
      // Requests on this connection get no answer any more: their callers see it at once.
      for (const [id, p] of this.attachmentWaiters) {
        if (p.ws !== ws) continue;
        this.attachmentWaiters.delete(id);
        p.reject(new Error('session: the connection to the leader closed before it answered'));
      }
      clearInterval(this.timer);
      if (this.ws !== ws || this.closed) return;
      this.ws = undefined;
      // A redirect is an answer (a follower during an election names no leader yet): only
      // connections that failed or went unanswered back off.
      // Nor does a refusal while a known manager is left to try: nothing listens there (a
      // killed manager), and asking costs no one anything. Once every one refused in a row the
      // control plane is down, and refusals back off as failures do (no retry storm meanwhile).
      this.refusals = refused ? this.refusals + 1 : 0;
      const quick = refused && this.refusals < new Set(Object.values(this.managers)).size;
      const answered = this.lastAck !== 0;
      if (!answered && !redirected && !quick) this.failures++;
      if (!redirected) this.lostAddr = addr;
      this.lastAck = 0;
      // Spread, and backed off while attempts fail: a crowd of nodes must not retry in step.
      const rand = (this.opts.rand ?? Math.random)();
      const delayMs = reconnectDelay({ failures: this.failures, heartbeatMs: this.heartbeatMs, redirected: redirected && !!this.nextAddr, refused: quick, answered, rand });
      this.opts.logger.debug('session retry', { addr, delayMs, answered, redirected, refused });
      this.scheduleRetry(delayMs);
    });
  }

  private beat(): void {
    const f: SessionFrame = { type: 'heartbeat', addr: this.opts.addr };
    if (this.ws && this.tlsSent !== this.ws) {
      if (this.opts.tlsInfo) f.tls = this.opts.tlsInfo;
      if (this.opts.description) f.description = this.opts.description;
      this.tlsSent = this.ws;
    }
    this.beatAt = monotonicMs();
    this.ws?.send(JSON.stringify(f));
  }

  /**
   * Sends a batch of task status reports to the leader; false when no session with a
   * leader is open, also while a manager holds it for an election (the caller keeps them
   * and reports again when the next session's full assignment set arrives).
   */
  sendStatus(updates: TaskStatusUpdate[]): boolean {
    const ws = this.ws;
    if (!ws || ws !== this.leaderWs || ws.readyState !== WebSocket.OPEN || updates.length === 0) return false;
    const f: SessionFrame = { type: 'status', updates };
    ws.send(JSON.stringify(f));
    return true;
  }

  /** Tells the leader this node applied its network view of `generation`; false when no session is open. */
  sendViewApplied(generation: number): boolean {
    const ws = this.ws;
    if (!ws || ws !== this.leaderWs || ws.readyState !== WebSocket.OPEN) return false;
    const f: SessionFrame = { type: 'network.applied', generation };
    ws.send(JSON.stringify(f));
    return true;
  }

  private attachmentWaiters = new Map<string, { ws: WebSocket; resolve: (f: AttachmentResult) => void; reject: (e: Error) => void }>();
  private attachmentSeq = 0;

  /**
   * Asks the leader for a network attachment (a standalone container on an attachable
   * network, see `attachment-tasks.ts`) or its end, and resolves with its answer. Rejects
   * when no session is open, the connection closes first, or after `timeoutMs`.
   */
  requestAttachment(req: AttachmentRequest, timeoutMs = 15_000): Promise<AttachmentResult> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.reject(new Error('session: not connected to the leader'));
    const id = `att-${++this.attachmentSeq}`;
    return new Promise<AttachmentResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.attachmentWaiters.delete(id);
        reject(new Error(`session: the leader did not answer the attachment request within ${timeoutMs} ms`));
      }, timeoutMs);
      this.attachmentWaiters.set(id, {
        ws,
        resolve: (f) => { clearTimeout(timer); resolve(f); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
      ws.send(JSON.stringify({ ...req, id } as SessionFrame));
    });
  }

  /** The log subscriptions of the open connection end with this signal. */
  private logsEnd?: AbortController;

  /**
   * Sends a log frame to the leader (`log-relay.ts`); returns the signal that ends with the
   * connection it went on, or undefined when no connection is open.
   */
  sendLogFrame(f: SessionFrame): AbortSignal | undefined {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || !this.logsEnd || this.logsEnd.signal.aborted) return undefined;
    ws.send(JSON.stringify(f));
    return this.logsEnd.signal;
  }

  private updateManagers(managers: Record<string, string>): void {
    const before = JSON.stringify(Object.entries(this.managers).sort());
    this.managers = { ...managers };
    if (JSON.stringify(Object.entries(managers).sort()) !== before) this.opts.onManagers?.(this.managers);
  }

  private scheduleRetry(ms: number): void {
    clearTimeout(this.retry);
    this.retry = setTimeout(() => this.connect(), ms);
  }

  /**
   * Switches to a renewed certificate (and the TLS state it reports): the connection
   * starts again with it; assignments and the agent carry on as across any reconnect.
   */
  setTLS(tls: NodeTLS, tlsInfo?: NodeTLSInfo): void {
    this.opts = { ...this.opts, tls, tlsInfo };
    this.caTarget = undefined;
    // Back to the same manager (the leader, most likely): it is not lost, only left.
    this.nextAddr = this.currentAddr;
    this.ws?.terminate();
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    clearTimeout(this.retry);
    this.ws?.terminate();
  }
}
