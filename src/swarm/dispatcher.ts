/**
 * The manager side of node sessions (`/dispatcher` on 2377): every node of the swarm
 * (managers too) keeps one WebSocket to the leader and sends heartbeats on it. A
 * manager that is not the leader answers with a redirect naming the leader, so
 * sessions always end at the node that writes node status.
 *
 * The leader also sends each node its assignments on the session (the whole set first,
 * then what changes, see `assignments.ts`) and takes the nodes' batched task status
 * reports, writing them to the store in batches; a state only moves forward.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Manager } from '../manager/manager.ts';
import { requirePeer } from './node-server.ts';
import type { NodeTLSInfo, PeerIdentity, SessionFrame, TaskStatusUpdate } from '../wire/types.ts';
import type { Logger } from '../common/logger.ts';
import type { Task } from '../api/types/task.ts';
import { AssignmentSet, reportedTask, type PayloadLookup } from './assignments.ts';
import { AssignmentFanout } from './assignment-fanout.ts';
import type { ReadTx } from '../store/index.ts';
import { NetworkViews, type ViewSubscription } from './network-views.ts';
import { portOf, underlayIp } from './underlay-addr.ts';
import { CASessionTargets, TLSInfoRecorder, isNodeTLSInfo } from './ca-session.ts';
import { logBrokerOf } from './log-broker.ts';
import { RelayedRequests } from './log-relay.ts';
import { DescriptionRecorder } from './description-recorder.ts';
import { AttachmentError, createAttachment, removeAttachment } from './attachment-tasks.ts';
import { classifyNodeFrame } from './node-frames.ts';
import { takeStatusBatch } from './status-batch.ts';
import { LeaderWait } from './leader-wait.ts';
import type { NodeDescription } from '../api/types/node.ts';

/** Frames are small (a status batch is the biggest); anything bigger is a broken or hostile peer. */
const MAX_FRAME = 4 * 1024 * 1024;
/** A status write that lost a race with another transaction is retried this often. */
const STATUS_WRITE_ATTEMPTS = 3;
/**
 * The longest a session waits here for an election (`leader-wait.ts`): ten default election
 * timeouts, one default heartbeat period, well inside the three periods after which a
 * leader marks a silent node down.
 */
const LEADER_HOLD_MS = 5000;
/** How often held sessions check whether a silent leader spoke again: one default Raft heartbeat period. */
const SILENT_POLL_MS = 50;
/** The frames of a held session looked at for its first heartbeat. */
const HELD_FRAMES_LOOKED_AT = 4;

/** Whether a text frame is a heartbeat (a held session keeps its first one; anything else there is dropped as before). */
function isHeartbeat(data: RawData): boolean {
  try {
    return (JSON.parse(String(data)) as { type?: unknown } | null)?.type === 'heartbeat';
  } catch {
    return false;
  }
}

/** The secrets and configs an assignment frame may carry, read in the frame's own view. */
function payloadLookup(tx: ReadTx): PayloadLookup {
  return { secret: (id) => tx.get('secret', id), config: (id) => tx.get('config', id) };
}

export class Dispatcher {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME, perMessageDeflate: false });
  /** Status reports waiting to be written, by task ID (a later report of a task replaces an earlier one). */
  private readonly pendingStatus = new Map<string, TaskStatusUpdate & { nodeId: string }>();
  private writing = false;
  private readonly unsubscribes = new Set<() => void>();
  private readonly networkViews: NetworkViews;
  private readonly caTargets = new CASessionTargets();
  /** Task events routed to the sessions of the nodes they concern (one store subscription). */
  private readonly fanout = new AssignmentFanout();
  private taskWatch?: () => void;
  /** What to do for each session when the task subscription ends (close it). */
  private readonly sessionsOnTaskWatchClose = new Set<() => void>();
  /** Checks whether a silent leader spoke again while sessions are held (`watchSilentLeader`). */
  private silentPoll?: NodeJS.Timeout;
  /** Sessions that arrived while no leader was known, waiting for one. */
  private readonly leaderWait = new LeaderWait({
    clock: { setTimer: (ms, fn) => { const t = setTimeout(fn, ms); return () => clearTimeout(t); } },
    maxHoldMs: LEADER_HOLD_MS,
    defer: (fn) => void setImmediate(fn),
  });

  constructor(
    private readonly manager: Manager,
    private readonly clusterId: string,
    private readonly managers: () => Record<string, string>,
    private readonly logger: Logger,
  ) {
    this.networkViews = new NetworkViews(manager.store);
    // An elected leader (this manager or another) answers every session held meanwhile.
    this.unsubscribes.add(manager.raft.on((e) => {
      if (e.kind !== 'leader' || e.leader === '') return;
      const addr = manager.leaderAddr();
      if (addr) this.leaderWait.leaderKnown(addr);
    }));
  }

  /**
   * Accepts an upgrade from a node of this swarm (any role); throws 401 otherwise, and 403
   * for a node the store no longer has (removed) when this manager leads.
   */
  accept(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const tls = req.socket as TLSSocket;
    const peer = requirePeer(tls, 'any', this.clusterId);
    if (this.manager.isLeader) this.manager.standing('member', peer, this.clusterId);
    // The node's underlay address (its VXLAN endpoint) is where its connection comes from,
    // never what its frames claim.
    const ip = underlayIp(tls.remoteAddress);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.session(ws, peer, ip));
  }

  private session(ws: WebSocket, peer: PeerIdentity, ip: string | undefined): void {
    ws.on('error', () => {});
    if (this.manager.isLeader) return this.serve(ws, peer, ip);
    const redirect = (leader: string | undefined) => {
      if (ws.readyState !== ws.OPEN) return;
      ws.send(JSON.stringify({ type: 'redirect', leader, managers: this.managers() } satisfies SessionFrame));
      ws.close(1000, 'not the leader');
    };
    if (!this.leaderInDoubt()) return redirect(this.manager.leaderAddr());
    // During an election the session waits for the new leader rather than come back in
    // half a second with another handshake (`leader-wait.ts`); so it does once the leader
    // went silent, before the election: a redirect to a killed leader is refused, and the
    // node comes back with another handshake, over and over. When this manager is the one
    // elected it keeps the session: a redirect to itself would cost the node a random wait
    // of up to half a second and a second mTLS handshake, in the crowd of every node
    // coming back. The node's first heartbeat on this connection carries its description
    // and TLS state and is never sent again, so it is kept while held and answered then.
    // Only its first few frames are looked at (a node's first frame is its heartbeat): a held
    // session costs no parsing beyond them, whatever a node sends while it waits.
    let firstBeat: RawData | undefined;
    let looked = 0;
    const keepFirstBeat = (data: RawData, isBinary: boolean) => {
      if (!firstBeat && looked++ < HELD_FRAMES_LOOKED_AT && !isBinary && isHeartbeat(data)) firstBeat = data;
    };
    ws.on('message', keepFirstBeat);
    this.watchSilentLeader();
    ws.on('close', this.leaderWait.hold((leader) => {
      ws.off('message', keepFirstBeat);
      if (ws.readyState !== ws.OPEN) return;
      const held = this.manager.heldSessions;
      if (!this.manager.isLeader) {
        held[leader === undefined ? 'expired' : 'redirected']++;
        // A hold that ran out while this manager still names a leader (cut off from it, the
        // leader itself alive): the node may reach it, so it is named.
        return redirect(leader ?? this.manager.leaderAddr());
      }
      try {
        this.manager.standing('member', peer, this.clusterId);
      } catch (err) {
        this.logger.info('dispatcher: a held session\'s node is no longer in the swarm, closing it', { 'node.id': peer.nodeId, error: err });
        ws.close(1008, 'node removed');
        return;
      }
      held.adopted++;
      this.serve(ws, peer, ip, firstBeat);
    }));
  }

  /**
   * No leader is known, or this follower has missed three of its leader's heartbeats (the
   * leader it names may be gone, its election timer not fired yet).
   */
  private leaderInDoubt(): boolean {
    return this.manager.leaderId === '' || this.manager.raft.leaderSilent();
  }

  /**
   * While sessions are held for a silent leader, checks each `SILENT_POLL_MS` whether it
   * spoke again (a slow leader, not a dead one): no leader event would tell, so held
   * sessions would wait out their hold. A new leader answers them through the leader event.
   */
  private watchSilentLeader(): void {
    if (this.silentPoll) return;
    this.silentPoll = setInterval(() => {
      const addr = this.leaderInDoubt() ? undefined : this.manager.leaderAddr();
      if (addr) this.leaderWait.leaderKnown(addr);
      if (this.leaderWait.size === 0 || addr) {
        clearInterval(this.silentPoll);
        this.silentPoll = undefined;
      }
    }, SILENT_POLL_MS);
  }

  /**
   * The leader's side of a session: heartbeats answered, status and log frames taken,
   * assignments and the network view streamed. `replay` is a frame the node sent before
   * (its first heartbeat, while the session was held for an election), handled first.
   */
  private serve(ws: WebSocket, peer: PeerIdentity, ip: string | undefined, replay?: RawData): void {
    const nodeId = peer.nodeId;
    const send = (f: SessionFrame) => ws.send(JSON.stringify(f));
    // Log subscriptions a manager that is not the leader asks for on its session (`log-relay.ts`).
    const relayed = new RelayedRequests(logBrokerOf(this.manager), (f) => ws.readyState === ws.OPEN && (send(f), true));
    // The node's TLS state as it last reported it on this session (root CA rotation).
    let tlsReport: NodeTLSInfo | undefined;
    const tlsRecorder = new TLSInfoRecorder(this.manager.store);
    // The node's description of itself as it stated it on this session (its release after an upgrade).
    let stated: NodeDescription | undefined;
    const descriptionRecorder = new DescriptionRecorder(this.manager.store);
    if (!ip) {
      this.logger.warn('dispatcher: session from an address that cannot be a node\'s underlay address, closing', { 'node.id': nodeId });
      ws.close(1008, 'bad source address');
      return;
    }
    const onFrame = (data: RawData, isBinary: boolean) => {
      let frame: SessionFrame;
      try {
        if (isBinary) throw new Error('binary frame');
        frame = JSON.parse(String(data)) as SessionFrame;
        if (classifyNodeFrame(frame) === 'unknown') {
          // A newer release's frame (a rolling upgrade): ignored, not a reason to drop the node.
          this.logger.debug('dispatcher: ignoring a frame of an unknown type', { 'node.id': nodeId, type: String(frame.type).slice(0, 64) });
          return;
        }
        if (frame.type === 'heartbeat' && frame.description !== undefined) stated = DescriptionRecorder.check(frame.description);
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
      if (frame.type === 'status') {
        this.queueStatus(nodeId, frame.updates);
        return;
      }
      if (frame.type === 'logs' || frame.type === 'logs.end') {
        logBrokerOf(this.manager).onNodeFrame(nodeId, frame);
        return;
      }
      if (frame.type === 'logs.request' || frame.type === 'logs.cancel') {
        relayed.onFrame(frame);
        return;
      }
      if (frame.type === 'network.applied') {
        views.acked(frame.generation);
        return;
      }
      if (frame.type === 'attachment.create' || frame.type === 'attachment.remove') {
        void this.attachment(nodeId, frame).then((r) => { if (ws.readyState === ws.OPEN) send(r); });
        return;
      }
      if (frame.type !== 'heartbeat') return;
      if (isNodeTLSInfo(frame.tls)) tlsReport = frame.tls;
      // A node removed while connected loses its session at its next heartbeat.
      try {
        this.manager.standing('member', peer, this.clusterId);
      } catch (err) {
        this.logger.info('dispatcher: node no longer in the swarm, closing its session', { 'node.id': nodeId, error: err });
        ws.close(1008, 'node removed');
        return;
      }
      // The address the node advertises gives only the port (its Raft port if promoted).
      this.manager.heartbeat(nodeId, `${ip}:${portOf(frame.addr)}`);
      // The role and state the store gives the node: a promoted or demoted node follows its
      // role; a joining node learns when the managers see it ready; a demoted manager learns
      // when its removal from Raft is committed (it serves Raft until then).
      const { node, cluster } = this.manager.store.view((tx) => ({ node: tx.get('node', nodeId), cluster: tx.list('cluster')[0] }));
      void tlsRecorder.record(nodeId, tlsReport);
      // Once stored, the description is not compared again on this session's heartbeats.
      const pending = stated;
      if (pending) void descriptionRecorder.record(nodeId, pending).then((done) => { if (done && stated === pending) stated = undefined; });
      const ca = this.caTargets.ackFor(cluster, node);
      send({
        type: 'ack', heartbeatMs: this.manager.heartbeatMs, managers: this.managers(),
        ...(node ? { role: node.Spec.Role, state: node.Status.State } : {}),
        raftMember: this.manager.isRaftMember(nodeId),
        ...(ca ? { ca } : {}),
      });
    };
    ws.on('message', onFrame);
    this.streamAssignments(ws, nodeId, send);
    const views = this.streamNetworkView(ws, nodeId, send);
    // Log subscriptions reach the node on this session (`log-broker.ts`).
    const sendLogs = (f: SessionFrame) => ws.readyState === ws.OPEN && (send(f), true);
    logBrokerOf(this.manager).addNode(nodeId, sendLogs);
    ws.on('close', () => logBrokerOf(this.manager).removeNode(nodeId, sendLogs));
    ws.on('close', () => relayed.close());
    if (replay !== undefined) onFrame(replay, false);
  }

  /** Sends the node its network view now and whenever it changes, and the cluster's view watermark (see `network-views.ts`). */
  private streamNetworkView(ws: WebSocket, nodeId: string, send: (f: SessionFrame) => void): ViewSubscription {
    const sub = this.networkViews.subscribe(nodeId, (view) => {
      if (ws.readyState === ws.OPEN) send({ type: 'network', view });
    }, (generation) => {
      if (ws.readyState === ws.OPEN) send({ type: 'network.watermark', generation });
    });
    const unsubscribe = () => sub.close();
    this.unsubscribes.add(unsubscribe);
    ws.on('close', () => {
      unsubscribe();
      this.unsubscribes.delete(unsubscribe);
    });
    return sub;
  }

  /**
   * Sends the node its whole assignment set now, then, on each commit that touched its
   * tasks, what changed. Events only mark task IDs dirty (one store subscription for all
   * sessions, routed by node in `assignment-fanout.ts`); the frame is built on the commit
   * marker from a fresh view.
   */
  private streamAssignments(ws: WebSocket, nodeId: string, send: (f: SessionFrame) => void): void {
    const set = new AssignmentSet(nodeId);
    const store = this.manager.store;
    const onWatchClose = () => ws.close(1011, 'store watch closed');
    this.watchTasks(onWatchClose);
    const remove = this.fanout.add(nodeId, (ids) => {
      if (ws.readyState !== ws.OPEN) return;
      try {
        const frame = store.view((tx) => set.diff(ids.map((id) => ({ id, current: tx.get('task', id) })), payloadLookup(tx)));
        if (frame) send(frame);
      } catch (err) {
        // This session's failure ends this session only, not the watch the others share.
        this.logger.warn('dispatcher: could not send assignments, closing session', { 'node.id': nodeId, error: err });
        ws.close(1011, 'assignments failed');
      }
    });
    ws.on('close', () => {
      remove();
      this.sessionsOnTaskWatchClose.delete(onWatchClose);
    });
    send(store.view((tx) => set.full(tx.find('task', { nodeId }), payloadLookup(tx))));
  }

  /** The one task subscription behind every session's assignments, made with the first session. */
  private watchTasks(onClose: () => void): void {
    this.sessionsOnTaskWatchClose.add(onClose);
    if (this.taskWatch) return;
    const unsubscribe = this.manager.store.subscribe((e) => {
      if (e.kind === 'commit') this.fanout.commit();
      else this.fanout.onTaskEvent({ object: e.object as Task, old: 'old' in e ? (e.old as Task) : undefined });
    }, {
      kinds: ['task'],
      // The store ended the watch: every session closes, and the next one watches again.
      onClose: () => {
        this.taskWatch = undefined;
        this.unsubscribes.delete(unsubscribe);
        const closers = [...this.sessionsOnTaskWatchClose];
        this.sessionsOnTaskWatchClose.clear();
        for (const c of closers) c();
      },
    });
    this.taskWatch = unsubscribe;
    this.unsubscribes.add(unsubscribe);
  }

  /** A node's attachment request (a standalone container on an attachable network): the task written, or the refusal. */
  private async attachment(nodeId: string, f: Extract<SessionFrame, { type: 'attachment.create' | 'attachment.remove' }>): Promise<SessionFrame> {
    try {
      if (f.type === 'attachment.remove') {
        await this.manager.store.update((tx) => removeAttachment(tx, nodeId, f.containerId));
        return { type: 'attachment.result', id: f.id };
      }
      const { value: t } = await this.manager.store.update((tx) => createAttachment(tx, nodeId, f, new Date(tx.now).toISOString()));
      this.logger.info('dispatcher: network attachment task for a standalone container', { 'node.id': nodeId, 'task.id': t.ID, 'container.id': f.containerId });
      return { type: 'attachment.result', id: f.id, taskId: t.ID, networkId: t.Spec.Networks?.[0]?.Target };
    } catch (err) {
      const status = err instanceof AttachmentError ? err.status : 500;
      return { type: 'attachment.result', id: f.id, error: (err as Error).message, status };
    }
  }

  /** Queues a node's status reports; one writer at a time turns them into store transactions. */
  private queueStatus(nodeId: string, updates: TaskStatusUpdate[]): void {
    for (const u of updates) {
      if (!u || typeof u.taskId !== 'string' || !u.status || typeof u.status !== 'object') continue;
      this.pendingStatus.set(u.taskId, { ...u, nodeId });
    }
    void this.writeStatus();
  }

  private async writeStatus(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      while (this.pendingStatus.size > 0) {
        // Bounded transactions (see status-batch.ts); reports queued meanwhile join later ones.
        const batch = takeStatusBatch(this.pendingStatus);
        for (let attempt = 1; ; attempt++) {
          try {
            await this.manager.store.update((tx) => {
              for (const u of batch) {
                const next = reportedTask(tx.get('task', u.taskId), u.nodeId, u.status);
                if (next) tx.update('task', next);
              }
            });
            break;
          } catch (err) {
            if (attempt >= STATUS_WRITE_ATTEMPTS || !this.manager.isLeader) {
              this.logger.warn('dispatcher: could not write task status', { count: batch.length, error: err });
              break;
            }
          }
        }
      }
    } finally {
      this.writing = false;
    }
  }

  close(): void {
    clearInterval(this.silentPoll);
    this.leaderWait.close();
    for (const u of this.unsubscribes) u();
    this.unsubscribes.clear();
    this.networkViews.close();
    for (const c of this.wss.clients) c.terminate();
    this.wss.close();
  }
}
