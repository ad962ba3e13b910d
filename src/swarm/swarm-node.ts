/**
 * This node's membership in a swarm: `init`, `join`, `leave`, coming back after a
 * restart, and following the role and certificate the managers decide for it. It
 * composes the node's parts — the node-to-node server on 2377 (its routes in
 * node-endpoints.ts), the session to the managers, the worker's agent and, on managers,
 * the `Manager` (Raft + store + CA) — and starts and stops them as the role changes.
 * The control API's swarm and node routes call into it. How a node enters a swarm
 * (request checks, the join handshake) is swarm-setup.ts's; the Raft epochs of
 * `--force-new-cluster` are raft-epochs.ts's.
 */
import { NodeAttachments } from './node-attachments.ts';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiError, InvalidArgumentError, UnavailableError } from '../api/errors.ts';
import type { NodeDescription, NodeRole } from '../api/types/node.ts';
import { defaultSwarmSpec, type InitRequest, type JoinRequest } from '../api/types/swarm.ts';
import type { SwarmInfo } from '../api/types/system.ts';
import type { Task } from '../api/types/task.ts';
import { NodeTLS, generateJoinToken, newNodeKeyAndCSR, shouldRenew, DEFAULT_NODE_CERT_EXPIRY_MS } from '../manager/ca/index.ts';
import { Manager } from '../manager/manager.ts';
import type { NodeKeyVault } from '../manager/keys/index.ts';
import { LeaderControllers } from '../manager/controllers/index.ts';
import { checkAddressPools, ingressNetworkSpec } from '../manager/allocator/index.ts';
import { Agent, type AgentImages } from '../agent/agent.ts';
import type { LazyNetworking } from '../agent/lazy-networking.ts';
import type { Executor } from '../agent/exec/executor.ts';
import { newId, type WriteTx } from '../store/index.ts';
import type { Logger } from '../common/logger.ts';
import { NodeServer } from './node-server.ts';
import { Dispatcher } from './dispatcher.ts';
import { sessionLogFrames } from './log-relay.ts';
import { Session } from './session.ts';
import { certificateAction, nodeTLSState } from './cert-renewal.ts';
import { httpsJson, splitHostPort } from './https-json.ts';
import { loadSwarmState, removeSwarmState, saveSwarmState, type SwarmState } from './swarm-state.ts';
import {
  ALREADY_IN_SWARM, NOT_A_MANAGER, assertCanListen, leaveManagerRefusal, mergeSpec, newClusterCredentials, newNodeObject, requestJoin,
  resolveAdvertiseAddr, tlsInfo, validateInit, waitFor,
} from './swarm-setup.ts';
import { INITIAL_EPOCH, findReplacingEpoch, tellRemovedManagers } from './raft-epochs.ts';
import { addNodeRoutes, type EndpointsHost } from './node-endpoints.ts';
import { readBackup, restoredNodes, writeBackup, type BackupContents, type BackupFile } from './swarm-backup.ts';

// What callers imported from here before the split.
export { NOT_A_MANAGER, leaveManagerRefusal, mergeSpec, resolveAdvertiseAddr };

export interface SwarmContext {
  dataRoot: string;
  /** Whether this node has the standalone container (its network attachments are reconciled with it). */
  standaloneExists?: (containerId: string) => boolean;
  /** The daemon's --listen-addr (IP:PORT) and --advertise-addr, used when a request names none. */
  listenAddr: string;
  advertiseAddr?: string;
  description(): NodeDescription;
  logger: Logger;
  /** Random source in [0, 1) (certificate renewal timing). Default Math.random. */
  rand?: () => number;
  /** Heartbeat period, ms (default 1000: a dead node is detected in about 3 s). */
  heartbeatMs?: number;
  /** Raft tick, ms (election timeout 50 ticks, heartbeat 5); RaftNode's default (10) when unset. For benchmarks. */
  raftTickMs?: number;
  /** This node's executor, made and restored on first use; without it the node runs no tasks. */
  executor?: () => Promise<Executor>;
  /** The image store tasks' images are pulled into (needed with `executor`). */
  images?: AgentImages;
  /**
   * This node's keys at rest (`src/manager/keys`): seals the TLS key while autolock is on,
   * and gives a manager its Raft payload cipher. Without it keys and Raft data stay in clear.
   */
  keys?: NodeKeyVault;
  /** Makes this membership's network data plane (overlay, DNS, VIPs, mesh), given this node's underlay address; without it tasks get no networks. */
  networking?: (localAddr: () => string) => LazyNetworking;
  /** This node's resource usage document, served to managers on 2377 `/usage` (src/metrics). */
  nodeUsage?: () => Promise<unknown>;
}

const DEFAULT_HEARTBEAT_MS = 1000;
/** How long `swarm join` waits for the node to be ready (Docker's swarmConnectTimeout), ms. */
const JOIN_READY_TIMEOUT_MS = 20_000;
/** Docker's answer when that wait runs out. */
export const JOIN_TIMEOUT_MESSAGE = 'Timeout was reached before node joined. The attempt to join the swarm will continue in the background. Use the "docker info" command to see the current swarm status of your node.';
/** How long `swarm leave` on a demoted manager waits for its removal from Raft to be committed, ms. */
const LEAVE_DEMOTION_WAIT_MS = 15_000;
/** How often a forced manager retries telling removed managers, ms. */
const REMOVAL_NOTICE_MS = 1000;
const DEFAULT_ADDR_POOL = ['10.0.0.0/8'];
const DEFAULT_SUBNET_SIZE = 24;
const DEFAULT_DATA_PATH_PORT = 4789;

export class SwarmNode {
  private session?: Session;
  private dispatcher?: Dispatcher;
  manager?: Manager;
  private leaders?: LeaderControllers;
  private agent?: Agent;
  /** This membership's network data plane (`network inspect` reads its endpoints). */
  networking?: LazyNetworking;
  private stopped = false;
  private roleWatch?: NodeJS.Timeout;

  private constructor(
    private readonly ctx: SwarmContext,
    private state: SwarmState,
    private tls: NodeTLS,
    private readonly server: NodeServer,
  ) {
    this.renewalRand = (ctx.rand ?? Math.random)();
  }

  // ---- lifecycle -------------------------------------------------------------------

  /** Rejoins the swarm this node was in before a restart, if any. */
  static async restore(ctx: SwarmContext): Promise<SwarmNode | undefined> {
    const saved = await loadSwarmState(ctx.dataRoot, ctx.keys);
    if (!saved) return undefined;
    const tls = NodeTLS.create({ certPem: saved.certs.certPem, keyPem: saved.certs.keyPem, rootPem: saved.certs.rootCertPem });
    const node = await SwarmNode.open(ctx, saved.state, tls);
    // A manager coming back first asks the others whether a --force-new-cluster replaced
    // its Raft cluster meanwhile, so it never revives the old one, even briefly.
    const replaced = saved.state.role === 'manager' ? await findReplacingEpoch(node.state, node.tls) : undefined;
    if (replaced) {
      await node.becomeRemovedWorker(replaced.epoch, replaced.replaces, replaced.managers);
      return node;
    }
    await node.startRole({ bootstrap: false });
    ctx.logger.info('rejoined swarm after restart', { 'node.id': saved.state.nodeId, role: saved.state.role });
    return node;
  }

  /** `swarm init`: a new cluster with this node as its only manager. Returns the node ID. */
  static async init(ctx: SwarmContext, req: InitRequest): Promise<SwarmNode> {
    if (req.ForceNewCluster) return SwarmNode.forceNewCluster(ctx);
    if (await loadSwarmState(ctx.dataRoot)) throw new ApiError(ALREADY_IN_SWARM, 503);
    const listen = req.ListenAddr || ctx.listenAddr;
    const advertise = resolveAdvertiseAddr(req.AdvertiseAddr || ctx.advertiseAddr, listen);
    await assertCanListen(listen);
    const spec = mergeSpec(defaultSwarmSpec(), req.Spec);
    const pool = req.DefaultAddrPool?.length ? req.DefaultAddrPool : DEFAULT_ADDR_POOL;
    const subnetSize = req.SubnetSize || DEFAULT_SUBNET_SIZE;
    validateInit(pool, subnetSize, req.Availability);
    checkAddressPools(pool, subnetSize);
    if (spec.CAConfig.NodeCertExpiry < 3600e9) throw new InvalidArgumentError('invalid CAConfig.NodeCertExpiry: minimum certificate expiry time is 1h0m0s');
    const rand = (n: number) => new Uint8Array(randomBytes(n));
    const clusterId = newId(rand);
    const nodeId = newId(rand);
    const expiry = Math.round(spec.CAConfig.NodeCertExpiry / 1e6) || DEFAULT_NODE_CERT_EXPIRY_MS;
    const node = await SwarmNode.bootstrapSoleManager(ctx, { clusterId, nodeId, listen, advertise, expiry }, (tx, root) => {
      tx.create('cluster', {
        ID: clusterId,
        Spec: spec,
        TLSInfo: tlsInfo(root.certPem),
        RootRotationInProgress: false,
        DefaultAddrPool: pool,
        SubnetSize: subnetSize,
        DataPathPort: req.DataPathPort || DEFAULT_DATA_PATH_PORT,
        JoinTokens: { Worker: generateJoinToken(root.certPem, rand), Manager: generateJoinToken(root.certPem, rand) },
        RootCA: { CACert: root.certPem, CAKey: root.keyPem },
      });
      tx.create('node', newNodeObject(nodeId, 'manager', req.Availability || 'active', ctx.description(), advertise, 'ready'));
      // Docker's routing-mesh network, made with the cluster; the allocator allocates it.
      tx.create('network', { Spec: ingressNetworkSpec(pool) });
    });
    ctx.logger.info('swarm initialized', { 'cluster.id': clusterId, 'node.id': nodeId, addr: advertise });
    return node;
  }

  /**
   * What `init` and `restore` share: this node's credentials (under a new root CA, or the
   * one given), its state on disk, a one-manager Raft that leads, and `seed` writing the
   * cluster's first objects in one transaction. Undone (node stopped, state removed) when
   * a step fails.
   */
  private static async bootstrapSoleManager(
    ctx: SwarmContext,
    o: { clusterId: string; nodeId: string; listen: string; advertise: string; expiry: number; root?: { certPem: string; keyPem: string } },
    seed: (tx: WriteTx, root: { certPem: string; keyPem: string }) => void,
  ): Promise<SwarmNode> {
    const { root, certPem, keyPem, tls } = await newClusterCredentials({ clusterId: o.clusterId, nodeId: o.nodeId, expiry: o.expiry, now: Date.now(), ...(o.root ? { root: o.root } : {}) });
    const state: SwarmState = { clusterId: o.clusterId, nodeId: o.nodeId, role: 'manager', managers: [{ nodeId: o.nodeId, addr: o.advertise }], listenAddr: o.listen, advertiseAddr: o.advertise };
    await saveSwarmState(ctx.dataRoot, state, { certPem, keyPem, rootCertPem: root.certPem }, ctx.keys);
    let node: SwarmNode | undefined;
    try {
      node = await SwarmNode.open(ctx, state, tls);
      await node.startRole({ bootstrap: true });
      const manager = node.manager!;
      await waitFor(() => manager.isLeader, 10_000, 'the new manager did not become leader');
      await manager.store.update((tx) => seed(tx, root));
      return node;
    } catch (err) {
      await node?.stop();
      await removeSwarmState(ctx.dataRoot);
      throw err;
    }
  }

  /**
   * `swarm init --force-new-cluster` on a manager that lost its quorum: restarts the
   * swarm from this manager's state with it as the only manager. The other managers
   * are demoted in the store (they must leave and join again).
   */
  static async forceNewCluster(ctx: SwarmContext, running?: SwarmNode): Promise<SwarmNode> {
    const saved = await loadSwarmState(ctx.dataRoot, ctx.keys);
    if (!saved || saved.state.role !== 'manager') throw new UnavailableError('--force-new-cluster needs the state of a manager of a swarm on this node');
    await running?.stop();
    const tls = NodeTLS.create({ certPem: saved.certs.certPem, keyPem: saved.certs.keyPem, rootPem: saved.certs.rootCertPem });
    const state: SwarmState = { ...saved.state, managers: [{ nodeId: saved.state.nodeId, addr: saved.state.advertiseAddr }] };
    await saveSwarmState(ctx.dataRoot, state);
    const node = await SwarmNode.open(ctx, state, tls);
    await node.startRole({ bootstrap: false, forceNewCluster: true });
    const manager = node.manager!;
    await waitFor(() => manager.isLeader, 10_000, 'the forced manager did not become leader');
    const removedManagers: { nodeId: string; addr: string }[] = [];
    await manager.store.update((tx) => {
      for (const n of tx.find('node', { role: 'manager' })) {
        if (n.ID === state.nodeId) continue;
        if (n.ManagerStatus?.Addr) removedManagers.push({ nodeId: n.ID, addr: n.ManagerStatus.Addr });
        const next = structuredClone(n);
        next.Spec.Role = 'worker';
        delete next.ManagerStatus;
        next.Status = { ...next.Status, State: 'down', Message: 'removed by --force-new-cluster' };
        tx.update('node', next);
      }
    });
    // The removed managers still form a quorum of the old configuration among themselves
    // if they come back: a new epoch, which they are told of, turns them into workers.
    node.state = {
      ...state,
      raftEpoch: randomBytes(8).toString('hex'),
      previousEpochs: [...(state.previousEpochs ?? []), state.raftEpoch ?? INITIAL_EPOCH],
      removedManagers,
    };
    await saveSwarmState(ctx.dataRoot, node.state);
    ctx.logger.warn('swarm restarted from this manager with --force-new-cluster', { 'node.id': state.nodeId });
    return node;
  }

  /**
   * `swarm restore`: a new cluster on this node, the only manager, with everything the
   * backup holds (swarm-backup.ts) — its cluster ID, root CA and join tokens, services,
   * networks, secrets and configs, and its nodes as down workers — as Docker's restore
   * with `--force-new-cluster` gives. The orchestrators then start every service's tasks
   * on the nodes that join.
   */
  static async initFromBackup(ctx: SwarmContext, backup: BackupContents, req: { ListenAddr?: string; AdvertiseAddr?: string }): Promise<SwarmNode> {
    if (await loadSwarmState(ctx.dataRoot)) throw new ApiError(ALREADY_IN_SWARM, 503);
    const listen = req.ListenAddr || ctx.listenAddr;
    const advertise = resolveAdvertiseAddr(req.AdvertiseAddr || ctx.advertiseAddr, listen);
    await assertCanListen(listen);
    const { cluster } = backup;
    const nodeId = newId((n: number) => new Uint8Array(randomBytes(n)));
    const expiry = Math.round(cluster.Spec.CAConfig.NodeCertExpiry / 1e6) || DEFAULT_NODE_CERT_EXPIRY_MS;
    const root = { certPem: cluster.RootCA!.CACert, keyPem: cluster.RootCA!.CAKey };
    const node = await SwarmNode.bootstrapSoleManager(ctx, { clusterId: cluster.ID, nodeId, listen, advertise, expiry, root }, (tx) => {
      const { Version: _v, UpdatedAt: _u, ...restored } = cluster;
      tx.create('cluster', restored);
      for (const n of restoredNodes(backup.nodes)) tx.create('node', n);
      tx.create('node', newNodeObject(nodeId, 'manager', 'active', ctx.description(), advertise, 'ready'));
      for (const o of backup.networks) tx.create('network', o);
      for (const o of backup.secrets) tx.create('secret', o);
      for (const o of backup.configs) tx.create('config', o);
      for (const o of backup.services) tx.create('service', o);
    });
    ctx.logger.info('swarm restored from a backup', {
      'cluster.id': cluster.ID, 'node.id': nodeId, 'backup.index': backup.index, 'backup.created': backup.createdAt, services: backup.services.length,
    });
    return node;
  }

  /** `swarm join`: becomes a worker or manager of the swarm a manager at `RemoteAddrs` belongs to. */
  static async join(ctx: SwarmContext, req: JoinRequest): Promise<SwarmNode> {
    if (await loadSwarmState(ctx.dataRoot)) throw new ApiError(ALREADY_IN_SWARM, 503);
    let joined: Awaited<ReturnType<typeof requestJoin>>;
    try {
      joined = await requestJoin(req, { listenAddr: ctx.listenAddr, advertiseAddr: ctx.advertiseAddr, description: ctx.description() });
    } catch (err) {
      // A refused join leaves nothing: stating this node made its WireGuard key pair under
      // the swarm directory (the next join makes a new one).
      await removeSwarmState(ctx.dataRoot);
      throw err;
    }
    const { state, certs, tls, remote } = joined;
    await saveSwarmState(ctx.dataRoot, state, certs, ctx.keys);
    try {
      const node = await SwarmNode.open(ctx, state, tls);
      await node.startRole({ bootstrap: false });
      ctx.logger.info('joined swarm', { 'cluster.id': state.clusterId, 'node.id': state.nodeId, role: state.role, manager: remote });
      return node;
    } catch (err) {
      await removeSwarmState(ctx.dataRoot);
      throw err;
    }
  }

  private static async open(ctx: SwarmContext, state: SwarmState, tls: NodeTLS): Promise<SwarmNode> {
    const [host, port] = splitHostPort(state.listenAddr);
    const server = new NodeServer({ host, port: Number(port), tls: tls.serverOptions({ allowAnonymous: true }), logger: ctx.logger.child('node-server') });
    const node = new SwarmNode(ctx, state, tls, server);
    addNodeRoutes(node.endpointsHost());
    try {
      await server.listen();
    } catch (err) {
      throw new UnavailableError(`cannot listen on ${state.listenAddr}: ${(err as Error).message}`, { cause: err });
    }
    return node;
  }

  /** Starts what the node's role needs: the manager (Raft, store, dispatcher) and the session. */
  private async startRole(opts: { bootstrap: boolean; forceNewCluster?: boolean }): Promise<void> {
    if (this.state.role === 'manager') {
      const peers = Object.fromEntries(this.state.managers.filter((m) => m.nodeId !== this.state.nodeId).map((m) => [m.nodeId, m.addr]));
      this.manager = await Manager.start({
        dataRoot: this.ctx.dataRoot, tls: this.tls, advertiseAddr: this.state.advertiseAddr, bootstrap: opts.bootstrap, peers,
        logger: this.ctx.logger.child('manager'), heartbeatMs: this.heartbeatMs, heartbeatFixed: this.ctx.heartbeatMs !== undefined, forceNewCluster: opts.forceNewCluster,
        ...(this.ctx.raftTickMs ? { tickMs: this.ctx.raftTickMs } : {}),
        keys: this.ctx.keys,
      });
      this.dispatcher = new Dispatcher(this.manager, this.state.clusterId, () => this.managerAddrs(), this.ctx.logger.child('dispatcher'));
      const manager = this.manager;
      this.leaders = new LeaderControllers({
        store: manager.store, raft: manager.raft, get isLeader() { return manager.isLeader; }, barrier: () => manager.barrier(10_000),
        storeSchema: this.ctx.description().ShoalStoreSchema,
      }, this.ctx.logger.child('leader'));
    }
    if (!this.agent && this.ctx.executor && this.ctx.images) {
      this.networking ??= this.ctx.networking?.(() => splitHostPort(this.state.advertiseAddr)[0]);
      this.agent = await Agent.open({
        nodeId: this.state.nodeId, dataRoot: this.ctx.dataRoot, executor: this.ctx.executor, images: this.ctx.images,
        description: () => this.ctx.description(), logger: this.ctx.logger.child('agent'), networking: this.networking,
      });
    }
    this.tlsState = await nodeTLSState(this.tls).catch(() => undefined);
    const session = new Session({
      tls: this.tls, addr: this.state.advertiseAddr, managers: this.managerAddrs(), heartbeatMs: this.heartbeatMs, tlsInfo: this.tlsState?.info,
      description: this.ctx.description(),
      logger: this.ctx.logger.child('session'),
      onManagers: (m) => this.background(() => this.rememberManagers(m)),
      onAssignments: (f) => {
        this.agent?.assign(f);
        // Standalone containers removed while the leader could not be told: end their attachments.
        if (f.full) this.attachments.reconcile(f.tasks);
      },
      onNetworkView: (view) => this.agent?.setNetworkView(view),
      onNetworkWatermark: (generation) => this.agent?.setNetworkWatermark(generation),
      onLogFrame: sessionLogFrames({ executor: this.ctx.executor, manager: this.manager, send: (f) => this.session?.sendLogFrame(f) }),
    });
    this.session = session;
    this.agent?.setReporter((updates) => session.sendStatus(updates));
    this.agent?.setViewAcknowledger((generation) => this.session?.sendViewApplied(generation));
    session.start();
    this.roleWatch = setInterval(() => {
      this.background(() => this.followRoleChange());
      if (this.state.removedManagers?.length && Date.now() - this.lastRemovalNotice >= REMOVAL_NOTICE_MS) this.background(() => this.noticeRemovedManagers());
    }, 1000);
  }

  private lastRemovalNotice = 0;
  /** This node's TLS state as reported to the leader and compared with its CA target (root rotation). */
  private tlsState?: Awaited<ReturnType<typeof nodeTLSState>>;
  /** Where in the 50–80 % window this certificate is renewed; drawn once per certificate. */
  private renewalRand = 0.5;

  /** Tells managers removed by `--force-new-cluster` that their epoch is over (raft-epochs.ts). */
  private async noticeRemovedManagers(): Promise<void> {
    this.lastRemovalNotice = Date.now();
    const told = await tellRemovedManagers(this.state, this.tls, this.ctx.logger);
    if (told.length) {
      this.state = { ...this.state, removedManagers: (this.state.removedManagers ?? []).filter((m) => !told.includes(m.nodeId)) };
      await saveSwarmState(this.ctx.dataRoot, this.state);
    }
  }

  private async becomeRemovedWorker(epoch: string, replaces: string[], managers: Record<string, string>): Promise<void> {
    if (this.following || this.stopped) return;
    this.following = true;
    try {
      this.ctx.logger.warn('this manager was removed by --force-new-cluster elsewhere: continuing as a worker', { 'node.id': this.state.nodeId });
      await this.stopRole();
      await rm(join(this.ctx.dataRoot, 'swarm', 'raft'), { recursive: true, force: true });
      this.state = {
        ...this.state, role: 'worker', raftEpoch: epoch, previousEpochs: replaces, removedManagers: [],
        managers: Object.entries(managers).map(([nodeId, addr]) => ({ nodeId, addr })),
      };
      await saveSwarmState(this.ctx.dataRoot, this.state);
      if (!this.stopped) await this.startRole({ bootstrap: false });
    } finally {
      this.following = false;
    }
  }

  private get heartbeatMs(): number {
    return this.ctx.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  }

  private async stopRole(): Promise<void> {
    clearInterval(this.roleWatch);
    this.session?.close();
    this.session = undefined;
    this.leaders?.close();
    this.leaders = undefined;
    this.dispatcher?.close();
    this.dispatcher = undefined;
    await this.manager?.stop();
    this.manager = undefined;
  }

  /** `swarm leave`: refused on a manager without `force`. */
  async leave(force: boolean): Promise<void> {
    // A demoted manager still in Raft leaves only once its removal is committed: leaving
    // earlier could take with it the vote that removal needs (bounded, then it leaves anyway).
    // A read barrier first, so a demotion committed a moment ago is seen here.
    if (this.state.role === 'manager' && this.manager) await this.manager.barrier(2000).catch(() => {});
    if (this.state.role === 'manager' && this.manager && this.desiredRole() === 'worker') {
      await this.waitRaftRemoval(LEAVE_DEMOTION_WAIT_MS);
      const deadline = Date.now() + LEAVE_DEMOTION_WAIT_MS;
      while (this.following && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    }
    if (this.state.role === 'manager' && !force) {
      const managers = this.manager ? this.manager.store.view((tx) => tx.find('node', { role: 'manager' })) : [];
      const reachable = managers.filter((n) => this.manager!.reachability(n.ID) === 'reachable').length;
      throw new ApiError(leaveManagerRefusal(managers.length, reachable), 400);
    }
    // Leaving: this node's tasks stop and their containers go (a restart keeps them).
    await this.agent?.removeAll();
    await this.stop();
    await removeSwarmState(this.ctx.dataRoot);
    this.ctx.logger.info('left the swarm', { 'node.id': this.state.nodeId });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.agent?.close();
    clearInterval(this.roleWatch);
    // Work in flight first (a renewal saving its certificate, a role change starting a
    // manager): stopped once it ends, nothing of this node writes the data root any more,
    // and a manager such work started is stopped below, not left running.
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    await this.stopRole();
    await this.server.close();
  }

  /** Background work on this node's role and state (role changes, renewals, saves); `stop` waits for it. */
  private readonly inFlight = new Set<Promise<void>>();

  /** Runs `work` in the background, tracked in `inFlight`; a failure is logged. */
  private background(work: () => Promise<unknown>): void {
    const p: Promise<void> = work()
      .then(() => {}, (err) => this.ctx.logger.warn('swarm node: background work failed', { error: err }))
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  /**
   * `swarm backup`: the store as one consistent view after a read barrier (so it holds
   * every write committed before the request), sealed by the unlock key while autolock is on.
   */
  async backup(now = Date.now()): Promise<BackupFile> {
    const manager = this.requireManager();
    await manager.barrier();
    const contents = manager.store.view((tx) => readBackup(tx, { index: manager.store.lastIndex, now }));
    return writeBackup(contents, contents.cluster.UnlockKey);
  }

  // ---- what the control API reads --------------------------------------------------

  get nodeId(): string {
    return this.state.nodeId;
  }

  get clusterId(): string {
    return this.state.clusterId;
  }

  get role(): NodeRole {
    return this.state.role;
  }

  /** The tasks this node's agent runs (the node's engine API joins them with the executor's containers). */
  agentTasks(): { task: Task }[] {
    return this.agent?.list() ?? [];
  }

  /** Standalone containers' endpoints on attachable overlays, over this node's session (`node-attachments.ts`). */
  readonly attachments = new NodeAttachments({
    request: (req) => this.session ? this.session.requestAttachment(req) : Promise.reject(new Error('no session to the leader')),
    attachment: (taskId, ms) => this.agent ? this.agent.attachment(taskId, ms) : Promise.reject(new Error('this node runs no agent')),
    // Without the daemon's answer every container counts as there: nothing is reconciled away.
    containerExists: (cid) => this.ctx.standaloneExists?.(cid) ?? true,
  });

  /** The secrets and configs this node's agent holds in memory: names and IDs only, never data. */
  agentPayloads(): { secrets: { ID: string; Name: string }[]; configs: { ID: string; Name: string }[] } {
    return this.agent?.payloadIndex() ?? { secrets: [], configs: [] };
  }

  /**
   * GET a JSON path of node `nodeId`'s 2377 endpoint at `addr`, as this node (a manager's
   * `/usage` fan-out); the server must present that node's certificate.
   */
  peerGet<T>(nodeId: string, addr: string, path: string, timeoutMs = 3000): Promise<T> {
    return httpsJson<T>(addr, 'GET', path, { tls: this.tls.clientOptions({ servername: nodeId }), timeoutMs });
  }

  /** The manager, or the 503 Docker answers on a worker. */
  requireManager(): Manager {
    if (!this.manager) throw new UnavailableError(NOT_A_MANAGER);
    return this.manager;
  }

  /** Managers' addresses: from the store on a manager, from the last session answer on a worker. */
  managerAddrs(): Record<string, string> {
    if (this.manager) {
      const fromStore = Object.fromEntries(
        this.manager.store.view((tx) => tx.find('node', { role: 'manager' })).filter((n) => n.ManagerStatus?.Addr).map((n) => [n.ID, n.ManagerStatus!.Addr]),
      );
      if (Object.keys(fromStore).length) return fromStore;
    }
    return Object.fromEntries(this.state.managers.map((m) => [m.nodeId, m.addr]));
  }

  swarmInfo(): SwarmInfo {
    const addrs = this.managerAddrs();
    const info: SwarmInfo = {
      NodeID: this.state.nodeId,
      NodeAddr: splitHostPort(this.state.advertiseAddr)[0],
      LocalNodeState: 'active',
      ControlAvailable: this.state.role === 'manager',
      Error: '',
      RemoteManagers: Object.entries(addrs).map(([NodeID, Addr]) => ({ NodeID, Addr })),
    };
    if (this.manager) {
      const nodes = this.manager.store.view((tx) => tx.list('node'));
      info.Nodes = nodes.length;
      info.Managers = nodes.filter((n) => n.Spec.Role === 'manager').length;
      try {
        const { JoinTokens: _t, RootCA: _r, RemovedNodes: _rm, UnlockKey: _u, ...cluster } = this.manager.cluster();
        info.Cluster = cluster;
      } catch {
        // not replicated here yet
      }
    }
    return info;
  }

  // ---- 2377 endpoints (node-endpoints.ts) ---------------------------------------------

  /** What the node-to-node endpoints read of this node, live at each request. */
  private endpointsHost(): EndpointsHost {
    return {
      server: this.server,
      rootPem: () => this.tls.rootPem,
      state: () => this.state,
      manager: () => this.manager,
      dispatcher: () => this.dispatcher,
      managerAddrs: () => this.managerAddrs(),
      heartbeatMs: this.heartbeatMs,
      // Answer first; the role change stops the manager that serves this request.
      usage: this.ctx.nodeUsage,
      removedBy: (notice, managers) => setImmediate(() => this.background(() => this.becomeRemovedWorker(notice.epoch, notice.replaces, managers))),
    };
  }

  // ---- role changes (promote / demote) -------------------------------------------

  private following = false;

  /**
   * Follows a promotion or demotion decided in the store: asks a manager for a
   * certificate with the new role, then starts or stops the manager part.
   */
  private async followRoleChange(): Promise<void> {
    if (this.following || this.stopped) return;
    const desired = this.desiredRole() ?? this.state.role;
    // Renewal before expiry, at a random point between 50 % and 80 % of the validity (SwarmKit's).
    // Root CA rotation: a leaf from another issuer than the leader's target is renewed; a
    // right leaf under a new root only swaps the root it trusts (see `cert-renewal.ts`).
    const target = this.session?.caTarget;
    const ca = certificateAction(this.tlsState?.own, target);
    const due = shouldRenew(this.tls.info, { now: Date.now(), rand: this.renewalRand }) || ca === 'renew';
    const retrust = ca === 'trust' && desired === this.state.role && !due;
    if (desired === this.state.role && !due && !retrust) return;
    this.following = true;
    try {
      const { keyPem, csrPem } = retrust ? { keyPem: this.tls.keyPem, csrPem: '' } : await newNodeKeyAndCSR();
      let renewed: { certPem: string; rootPem: string; role: NodeRole } | undefined =
        retrust ? { certPem: this.tls.certPem, rootPem: target!.rootPem!, role: this.state.role } : undefined;
      for (const addr of retrust ? [] : Object.values(this.managerAddrs())) {
        try {
          renewed = await httpsJson(addr, 'POST', '/renew', { tls: this.tls.clientOptions(), body: { csrPem } });
          break;
        } catch (err) {
          this.ctx.logger.debug('renewal failed', { addr, error: err });
        }
      }
      // A role change waits for a certificate with the new role; a due renewal takes what it gets.
      if (!renewed || (renewed.role !== desired && !due)) return;
      const role = renewed.role;
      // A demoted manager keeps serving Raft until its removal is committed (SwarmKit's):
      // stopping earlier can take the vote the removal itself needs, and with it the quorum.
      if (this.state.role === 'manager' && role === 'worker' && !(await this.waitRaftRemoval())) return;
      const tls = NodeTLS.create({ certPem: renewed.certPem, keyPem, rootPem: renewed.rootPem });
      this.renewalRand = (this.ctx.rand ?? Math.random)();
      if (role !== this.state.role) this.ctx.logger.info('role changed', { 'node.id': this.state.nodeId, from: this.state.role, to: role });
      else if (retrust) this.ctx.logger.info('trusting the rotated root CA', { 'node.id': this.state.nodeId });
      else this.ctx.logger.info('node certificate renewed', { 'node.id': this.state.nodeId, 'cert.not_after': new Date(tls.info.notAfter).toISOString() });
      // Same role: the certificate is swapped in place (no Raft restart, no gap in the API).
      if (role === this.state.role && this.session && (role === 'worker' || this.manager)) {
        await this.swapTLS(tls, keyPem);
        return;
      }
      const managers = this.managerAddrs();
      // Every part that holds the certificate (Raft transport, session) starts again with
      // the new one; the daemon, its port and the containers stay up.
      await this.stopRole();
      if (role === 'worker') await rm(join(this.ctx.dataRoot, 'swarm', 'raft'), { recursive: true, force: true });
      // A worker is never locked: no KEK left, and the TLS key saved below in clear.
      if (role === 'worker') await this.ctx.keys?.demote();
      this.tls = tls;
      this.state = { ...this.state, role, managers: Object.entries(managers).map(([nodeId, addr]) => ({ nodeId, addr })) };
      await saveSwarmState(this.ctx.dataRoot, this.state, { certPem: tls.certPem, keyPem, rootCertPem: tls.rootPem }, this.ctx.keys);
      this.server.setSecureContext(tls.serverOptions({ allowAnonymous: true }));
      if (!this.stopped) await this.startRole({ bootstrap: false });
    } catch (err) {
      this.ctx.logger.warn('could not renew the node certificate', { error: err });
    } finally {
      this.following = false;
    }
  }

  /**
   * Puts a renewed certificate (or a rotated root) to use without stopping anything: saved
   * first, then the node server, the Raft transport and the session take it; connections
   * already open carry on.
   */
  private async swapTLS(tls: NodeTLS, keyPem: string): Promise<void> {
    await saveSwarmState(this.ctx.dataRoot, this.state, { certPem: tls.certPem, keyPem, rootCertPem: tls.rootPem }, this.ctx.keys);
    this.tls = tls;
    this.server.setSecureContext(tls.serverOptions({ allowAnonymous: true }));
    this.manager?.setTLS(tls);
    this.tlsState = await nodeTLSState(tls).catch(() => undefined);
    this.session?.setTLS(tls, this.tlsState?.info);
  }

  /**
   * Waits until this manager is out of the Raft configuration: its own applied
   * configuration says so, or the leader's answer on the session does. False when the
   * wait ends otherwise (the node stops, is promoted again, or `timeoutMs` passes).
   */
  private async waitRaftRemoval(timeoutMs = Infinity): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const manager = this.manager;
      if (!manager || !manager.isRaftMember(this.state.nodeId) || this.session?.raftMember === false) return true;
      if (this.stopped || this.desiredRole() === 'manager' || Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * Resolves once the node has joined as Docker's `swarm join` means it: its session with
   * the leader is up, the managers' store has it ready, and a manager is a Raft voter.
   * Throws Docker's timeout error after `timeoutMs` (the node stays in the swarm and keeps
   * trying, as Docker's does).
   */
  async waitJoined(timeoutMs = JOIN_READY_TIMEOUT_MS): Promise<void> {
    await waitFor(() => this.stopped || this.joined(), timeoutMs, JOIN_TIMEOUT_MESSAGE);
  }

  private joined(): boolean {
    const s = this.session;
    if (!s?.connected || s.nodeState !== 'ready') return false;
    if (this.state.role !== 'manager') return true;
    return !!this.manager && this.manager.raft.status().confState.voters.includes(this.state.nodeId);
  }

  /** The node certificate this node presents now (for tests and `swarm ca` later). */
  get certificatePem(): string {
    return this.tls.certPem;
  }

  /** The role the managers have decided for this node, when this node can know it. */
  private desiredRole(): NodeRole | undefined {
    if (this.manager) return this.manager.store.view((tx) => tx.get('node', this.state.nodeId))?.Spec.Role;
    return this.session?.desiredRole;
  }

  private async rememberManagers(managers: Record<string, string>): Promise<void> {
    this.state = { ...this.state, managers: Object.entries(managers).map(([nodeId, addr]) => ({ nodeId, addr })) };
    await saveSwarmState(this.ctx.dataRoot, this.state).catch((err) => this.ctx.logger.warn('could not save managers', { error: err }));
  }
}
