/**
 * A manager: the replicated store over Raft (WAL and snapshots under
 * `<data-root>/swarm/raft`), the CA signer, and the leader-only loops that keep Raft
 * membership in line with node roles and node status in line with heartbeats.
 *
 * Everything reaches the other managers through the node server's `/raft` upgrade
 * (mutual TLS, manager certificates only); workers' heartbeats arrive on `/dispatcher`.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { PeerCertificate } from 'node:tls';
import { LEADER_LOOP_MS, NEW_LEADER_GRACE_MS } from './leader-timing.ts';
import { join } from 'node:path';
import { DiskStorage, RaftNode, forceNewCluster, WsTransport, emptyConfState, StateRole, ConfChangeType, type ConfState, type PayloadCipher } from 'raft-ts';
import { MemoryStore } from '../store/index.ts';
import type { Cluster } from '../store/index.ts';
import type { Node } from '../api/types/node.ts';
import { NotFoundError } from '../api/errors.ts';
import { MANAGER_ROLE, loadClusterSigner, signerIdentity, type NodeCertSigner, type NodeTLS } from './ca/index.ts';
import { RaftProposer, StoreStateMachine, toApiError } from './raft-store.ts';
import { nextMembershipAction } from './membership.ts';
import { nodeStatusChanges, watchHeartbeats, type HeartbeatWatch } from './node-health.ts';
import { canRemoveVoter } from './membership.ts';
import { checkStanding, raftSenderMatches, type StandingEndpoint } from './peer-standing.ts';
import type { PeerIdentity } from '../wire/types.ts';
import type { Logger } from '../common/logger.ts';
import { monotonicMs } from '../common/monotonic.ts';

export interface ManagerOptions {
  dataRoot: string;
  tls: NodeTLS;
  /** This manager's address for Raft and the dispatcher (IP:PORT). */
  advertiseAddr: string;
  /** A new cluster: this manager is its only voter. Otherwise it waits to be added. */
  bootstrap: boolean;
  /** Known managers (ID → IP:PORT), for a joining or restarting manager to reach the others. */
  peers: Record<string, string>;
  logger: Logger;
  /** Milliseconds between heartbeats expected from each node. */
  heartbeatMs: number;
  /** The heartbeat period was set by the operator (env) and overrides the cluster spec. */
  heartbeatFixed?: boolean;
  /** Recovery: make this manager the only member of the Raft cluster before starting. */
  forceNewCluster?: boolean;
  /** Raft tick length, ms (default the library's). */
  tickMs?: number;
  /**
   * Keys at rest (`src/manager/keys`): the cipher that seals every WAL entry and snapshot,
   * and a follower that re-seals them when the cluster's autolock key changes. Default: clear.
   */
  keys?: {
    raftCipher(raftDir: string): Promise<PayloadCipher>;
    follow(host: { store: MemoryStore; raft: RaftNode }): () => void;
  };
}

/** The first value of a certificate subject field (Node gives a string or a list). */
function firstOf(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}


/** How a session held for an election ended (`Manager.heldSessions`). */
export type HeldSessionOutcome = 'adopted' | 'redirected' | 'expired';

export class Manager {
  readonly store: MemoryStore;
  readonly raft: RaftNode;
  private readonly transport: WsTransport;
  private readonly storage: DiskStorage;
  private readonly lastSeen = new Map<string, { at: number; addr: string }>();
  /**
   * Sessions the dispatcher held for an election (`leader-wait.ts`), by how each ended:
   * kept by this manager once elected, redirected to the elected one, or let go without a
   * leader. Counted for metrics; a failover's wave shows here.
   */
  readonly heldSessions: Record<HeldSessionOutcome, number> = { adopted: 0, redirected: 0, expired: 0 };
  private leaderSince = 0;
  /** When a node was last heard for the first time since this manager became leader (`node-health.ts`). */
  private lastArrival = 0;
  /** Since when this manager has read heartbeats without a stall of its own (`watchHeartbeats`). */
  private heartbeatWatch: HeartbeatWatch = { since: 0, lastTick: 0 };
  private timer?: NodeJS.Timeout;
  private busy = false;
  private signer?: NodeCertSigner;
  private stopped = false;
  private unfollowKeys?: () => void;

  private constructor(
    private readonly opts: ManagerOptions,
    storage: DiskStorage,
  ) {
    this.storage = storage;
    const logger = opts.logger.child('raft');
    this.store = new MemoryStore({ proposer: () => new RaftProposer(() => this.raft) });
    this.transport = new WsTransport({
      id: opts.tls.nodeId,
      tls: { cert: opts.tls.certPem, key: opts.tls.keyPem, ca: opts.tls.rootPem },
      // Peers are reached by IP; identity is the certificate's role, not a host name.
      checkServerIdentity: (_host: string, cert: PeerCertificate) => {
        const ou = Array.isArray(cert.subject?.OU) ? cert.subject.OU[0] : cert.subject?.OU;
        return ou === MANAGER_ROLE ? undefined : new Error('raft peer is not a swarm manager');
      },
      // A connection speaks only for the node its certificate names: a message claiming
      // another sender closes it (1008), whatever that other node may be allowed.
      authorizePeer: (cert: PeerCertificate, from: string) => raftSenderMatches(firstOf(cert.subject?.CN), from),
      logger: { warn: (m, f) => logger.warn(m, f) },
    });
    this.raft = new RaftNode({
      id: opts.tls.nodeId,
      storage,
      transport: this.transport,
      stateMachine: new StoreStateMachine(this.store),
      peers: opts.peers,
      ...(opts.tickMs ? { tickMs: opts.tickMs } : {}),
      logger: { info: (m, f) => logger.info(m, f), warn: (m, f) => logger.warn(m, f), debug: (m, f) => logger.debug(m, f) },
    });
    this.raft.on((e) => {
      if (e.kind === 'role') {
        if (e.role === StateRole.Leader) this.leaderSince = monotonicMs();
        opts.logger.info('raft role changed', { role: e.role, term: e.term });
      }
      if (e.kind === 'conf-change') {
        if (e.change.context) {
          for (const c of e.change.changes) if (c.type !== ConfChangeType.RemoveNode) this.transport.addPeer(c.nodeId, e.change.context);
        }
        // A removal is committed: the removed member's connections end here, on every manager.
        const { voters, learners, votersOutgoing } = e.confState;
        for (const c of e.change.changes) {
          if (c.type !== ConfChangeType.RemoveNode || c.nodeId === this.nodeId) continue;
          if ([...voters, ...learners, ...votersOutgoing].includes(c.nodeId)) continue;
          this.dropRaftPeer(c.nodeId);
        }
      }
    });
  }

  static async start(opts: ManagerOptions): Promise<Manager> {
    const dir = join(opts.dataRoot, 'swarm', 'raft');
    const confState: ConfState = opts.bootstrap ? { ...emptyConfState(), voters: [opts.tls.nodeId] } : emptyConfState();
    const cipher = await opts.keys?.raftCipher(dir);
    const storage = await DiskStorage.open(dir, { confState, ...(cipher ? { cipher } : {}) });
    if (opts.forceNewCluster) {
      const { removed } = await forceNewCluster(storage, opts.tls.nodeId);
      opts.logger.warn('forced a new cluster from this manager\'s state', { removed });
    }
    const m = new Manager(opts, storage);
    for (const [id, addr] of Object.entries(opts.peers)) m.transport.addPeer(id, addr);
    await m.transport.start();
    await m.raft.start();
    // A new cluster's only voter need not wait out an election timeout, nor does the only
    // voter of a restarted (or just unlocked) single-manager swarm: no one else can lead.
    const conf = m.raft.status().confState;
    const alone = conf.voters.length === 1 && conf.voters[0] === opts.tls.nodeId && conf.votersOutgoing.length === 0;
    if (opts.bootstrap || opts.forceNewCluster || alone) m.raft.campaign();
    m.timer = setInterval(() => void m.leaderLoop(), LEADER_LOOP_MS);
    m.unfollowKeys = opts.keys?.follow(m);
    return m;
  }

  get nodeId(): string {
    return this.opts.tls.nodeId;
  }

  get isLeader(): boolean {
    return this.raft.status().role === StateRole.Leader;
  }

  get leaderId(): string {
    return this.raft.leaderId;
  }

  /** The leader's address as the store knows it, if any. */
  leaderAddr(): string | undefined {
    const id = this.raft.leaderId;
    if (!id) return undefined;
    if (id === this.nodeId) return this.opts.advertiseAddr;
    return this.store.view((tx) => tx.get('node', id))?.ManagerStatus?.Addr;
  }

  /** The cluster object (every swarm has exactly one). */
  cluster(): Cluster {
    const c = this.store.view((tx) => tx.list('cluster'))[0];
    if (!c) throw new NotFoundError('the cluster object is not replicated to this manager yet');
    return c;
  }

  /**
   * A signer for the cluster CA (its key is in the replicated cluster object); during a
   * root rotation it signs with the new root's key and sends the cross-signed chain.
   */
  async caSigner(): Promise<NodeCertSigner> {
    const root = this.cluster().RootCA;
    if (!root) throw new Error('manager: the cluster has no root CA');
    const externalCAs = this.cluster().Spec.CAConfig.ExternalCAs;
    const id = signerIdentity(root, externalCAs);
    if (!this.signer || this.signerId !== id) {
      this.signer = await loadClusterSigner(root, { externalCAs });
      this.signerId = id;
    }
    return this.signer;
  }

  private signerId = '';

  /**
   * Switches to a renewed certificate or a rotated root without a restart: Raft
   * connections made from now on present `tls` and trust its root (the node server, which
   * takes incoming ones, is swapped by its owner). The node ID must be the same.
   */
  setTLS(tls: NodeTLS): void {
    if (tls.nodeId !== this.nodeId) throw new Error('manager: a renewed certificate must keep the node ID');
    this.transport.setTls({ cert: tls.certPem, key: tls.keyPem, ca: tls.rootPem });
  }

  /** Waits until this manager may serve linearizable reads (a read barrier through the leader). */
  async barrier(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await this.raft.readIndex();
        return;
      } catch (err) {
        // A member that just joined learns its leader only now; retry what may succeed.
        if (!(err as { retryable?: boolean }).retryable && this.raft.leaderId !== '') throw toApiError(err);
        if (Date.now() > deadline) throw toApiError(err);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /**
   * Hands a `/raft` upgrade from `peer` to the transport (the caller checked its standing
   * with `standing('raft', …)`). The socket is remembered, so the peer's connections can be
   * cut once its removal from the configuration is committed.
   */
  acceptRaft(req: http.IncomingMessage, socket: Duplex, head: Buffer, peer: PeerIdentity): void {
    let set = this.raftSockets.get(peer.nodeId);
    if (!set) this.raftSockets.set(peer.nodeId, (set = new Set()));
    set.add(socket);
    socket.once('close', () => set!.delete(socket));
    this.transport.acceptUpgrade(req, socket, head);
  }

  private readonly raftSockets = new Map<string, Set<Duplex>>();

  /** Forgets a member whose removal is committed: no more messages to it, none taken from it. */
  private dropRaftPeer(nodeId: string): void {
    this.transport.removePeer(nodeId);
    for (const s of this.raftSockets.get(nodeId) ?? []) s.destroy();
    this.raftSockets.delete(nodeId);
    this.opts.logger.info('raft member removed: its connections are closed', { 'node.id': nodeId });
  }

  /**
   * Whether `peer` may use a 2377 endpoint now, from this manager's store (role, removal
   * tombstones) and Raft configuration; throws the refusal (see `peer-standing.ts`).
   */
  standing(endpoint: StandingEndpoint, peer: PeerIdentity | undefined, clusterId: string): PeerIdentity {
    const id = peer?.nodeId ?? '';
    const { node, cluster } = this.store.view((tx) => ({ node: id ? tx.get('node', id) : undefined, cluster: tx.list('cluster')[0] }));
    const until = cluster?.RemovedNodes?.[id];
    return checkStanding(endpoint, {
      peer, clusterId, storeRole: node?.Spec.Role, removed: until !== undefined && until > Date.now(), conf: this.raft.status().confState,
      bootstrapPeer: !cluster && id in this.opts.peers,
    });
  }

  /** Whether `nodeId` is in this manager's Raft configuration (voter, learner or outgoing voter). */
  isRaftMember(nodeId: string): boolean {
    const { voters, learners, votersOutgoing } = this.raft.status().confState;
    return voters.includes(nodeId) || learners.includes(nodeId) || votersOutgoing.includes(nodeId);
  }

  /**
   * SwarmKit's quorum safeguard: removing `nodeId` from the voters must leave a reachable
   * quorum of the voters that stay. Reachable: this manager, members the leader heard from
   * lately, and — on a follower, which cannot see that — managers whose heartbeats the
   * store reports ready.
   */
  canRemoveMember(nodeId: string): boolean {
    const st = this.raft.status();
    const leader = st.role === StateRole.Leader;
    const ready = new Set(this.store.view((tx) => tx.list('node')).filter((n) => n.Status.State === 'ready').map((n) => n.ID));
    const active = new Set([...st.confState.voters, ...st.confState.votersOutgoing].filter((id) =>
      id === this.nodeId || (leader ? st.progress.get(id)?.recentActive === true : ready.has(id))));
    return canRemoveVoter({ conf: st.confState, nodeId, selfId: this.nodeId, active });
  }

  /** Records a heartbeat from a node (the dispatcher calls this). */
  heartbeat(nodeId: string, addr: string): void {
    const now = monotonicMs();
    const prev = this.lastSeen.get(nodeId);
    // The first heartbeat of this node since this manager took over: the wave still arrives (`node-health.ts`).
    if (!prev || prev.at < this.leaderSince) this.lastArrival = now;
    this.lastSeen.set(nodeId, { at: now, addr });
  }

  /** Milliseconds since each node's last heartbeat to this manager (metrics: sessions, heartbeat lag), on the monotonic clock. */
  heartbeatAges(): Map<string, number> {
    const now = monotonicMs();
    return new Map([...this.lastSeen].map(([id, s]) => [id, now - s.at]));
  }

  /** The address (IP:PORT) a node last sent heartbeats from, if it did to this manager. */
  heartbeatAddr(nodeId: string): string | undefined {
    return this.lastSeen.get(nodeId)?.addr;
  }

  /** The heartbeat period nodes are told to use, ms. */
  get heartbeatMs(): number {
    // The cluster's Dispatcher.HeartbeatPeriod (ns) rules once the cluster exists;
    // the option (SHOAL_HEARTBEAT_MS or the default) covers the time before.
    const ns = this.store.view((tx) => tx.list('cluster'))[0]?.Spec.Dispatcher.HeartbeatPeriod;
    return this.opts.heartbeatFixed || !ns ? this.opts.heartbeatMs : Math.max(100, Math.round(ns / 1e6));
  }

  /** Raft reachability of a manager, as the leader sees it. */
  reachability(nodeId: string): 'reachable' | 'unreachable' | 'unknown' {
    if (nodeId === this.nodeId) return 'reachable';
    const st = this.raft.status();
    if (st.role !== StateRole.Leader) return nodeId === st.leader ? 'reachable' : 'unknown';
    const p = st.progress.get(nodeId);
    if (!p) return 'unknown';
    return p.recentActive ? 'reachable' : 'unreachable';
  }

  private async leaderLoop(): Promise<void> {
    // Before anything that may skip this turn: a stall of this process is seen on every tick.
    this.heartbeatWatch = watchHeartbeats(this.heartbeatWatch, monotonicMs(), Math.max(LEADER_LOOP_MS * 2, this.heartbeatMs));
    if (this.busy || this.stopped || !this.isLeader) return;
    this.busy = true;
    try {
      await this.reconcileMembership();
      await this.reconcileNodeStatus();
    } catch (err) {
      this.opts.logger.debug('leader loop', { error: err });
    } finally {
      this.busy = false;
    }
  }

  private async reconcileMembership(): Promise<void> {
    const st = this.raft.status();
    const managers = this.store.view((tx) => tx.list('node')).filter((n) => n.Spec.Role === 'manager' && n.ManagerStatus?.Addr);
    const match = new Map([...st.progress].map(([id, p]) => [id, p.match]));
    const action = nextMembershipAction({
      selfId: this.nodeId,
      managers: managers.map((n) => ({ nodeId: n.ID, addr: n.ManagerStatus!.Addr })),
      conf: st.confState,
      match,
      active: new Set([...st.progress].filter(([, p]) => p.recentActive).map(([id]) => id)),
      lastIndex: this.storage.lastIndex(),
    });
    if (!action) return;
    this.opts.logger.info('raft membership change', action);
    if (action.kind === 'add-learner') {
      this.transport.addPeer(action.nodeId, action.addr);
      await this.raft.addLearner(action.nodeId, action.addr);
    } else if (action.kind === 'promote') await this.raft.promote(action.nodeId);
    else if (action.kind === 'remove') {
      await this.raft.remove(action.nodeId);
      this.transport.removePeer(action.nodeId);
    } else await this.raft.transferLeadership(action.to);
  }

  private async reconcileNodeStatus(): Promise<void> {
    const nodes = this.store.view((tx) => tx.list('node'));
    const changes = nodeStatusChanges({
      nodes: nodes.map((n) => ({ id: n.ID, state: n.Status.State, addr: n.Status.Addr })),
      lastSeen: this.lastSeen,
      now: monotonicMs(),
      leaderSince: this.leaderSince,
      watchSince: this.heartbeatWatch.since,
      graceMs: this.heartbeatMs * 3,
      leaderGraceMs: NEW_LEADER_GRACE_MS, // never below graceMs: nodeStatusChanges takes the larger
      lastArrival: this.lastArrival,
    });
    if (changes.length === 0) return;
    await this.store.update((tx) => {
      for (const c of changes) {
        const n = tx.get('node', c.id);
        if (!n) continue;
        const next: Node = structuredClone(n);
        next.Status = { State: c.state, Addr: c.addr, ...(c.message ? { Message: c.message } : {}) };
        tx.update('node', next);
      }
    });
    for (const c of changes) this.opts.logger.info('node status changed', { 'node.id': c.id, state: c.state });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    this.unfollowKeys?.();
    await this.raft.stop().catch(() => {});
    await this.transport.close().catch(() => {});
    await this.storage.close().catch(() => {});
  }
}
