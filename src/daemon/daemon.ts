/**
 * The daemon's composition root: it locks the data root, builds the components and
 * the control API, and tears them down in reverse order on stop. Components are
 * given their dependencies here and nowhere else.
 */
import type http from 'node:http';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DaemonConfig } from './config.ts';
import { lockDataRoot, type DataRootLock } from './data-root-lock.ts';
import type { Logger } from '../common/logger.ts';
import { Router } from '../common/router.ts';
import { NotImplementedTable, dockerEndpoints } from './http/not-implemented.ts';
import { listenUnix, closeServer } from './http/unix-server.ts';
import { listenTcp } from './http/tcp-host.ts';
import { addSystemRoutes } from './routes/system.ts';
import { addImageRoutes } from './routes/images.ts';
import { ImageService } from '../images/image-service.ts';
import { Executor } from '../agent/exec/executor.ts';
import { executorName } from '../agent/exec/paths.ts';
import { privateDir } from '../agent/exec/private-fs.ts';
import { LazyNetworking } from '../agent/lazy-networking.ts';
import { NetworkAgent } from '../agent/network/network-agent.ts';
import { StateFile } from '../agent/network/state.ts';
import type { SwarmInfo } from '../api/types/system.ts';
import type { NodeDescription } from '../api/types/node.ts';
import type { InitRequest, JoinRequest } from '../api/types/swarm.ts';
import { addSwarmRoutes, NOT_IN_SWARM } from './routes/swarm.ts';
import { addSwarmBackupRoutes } from './routes/swarm-backup.ts';
import { addServiceRoutes } from './routes/services.ts';
import { addTaskRoutes } from './routes/tasks.ts';
import { addNetworkRoutes } from './routes/networks.ts';
import { addSecretRoutes } from './routes/secrets.ts';
import { addConfigRoutes } from './routes/configs.ts';
import { addContainerRoutes } from './routes/containers.ts';
import { NodeEngine } from '../agent/engine/engine.ts';
import { ExecManager } from '../agent/engine/exec-session.ts';
import { addExecRoutes } from './routes/exec.ts';
import { addContainerFileRoutes } from './routes/containers-files.ts';
import { ContainerFiles } from '../agent/engine/archive/container-files.ts';
import { addPruneRoutes } from './routes/prune.ts';
import { addContainerLifecycleRoutes } from './routes/containers-lifecycle.ts';
import { StandaloneContainers } from '../agent/engine/standalone/standalone.ts';
import { DefaultBridge } from '../agent/network/bridge/default-bridge.ts';
import { detectSandboxHost } from '../agent/exec/sandbox-host.ts';
import { addEventRoutes } from './routes/events.ts';
import { addLogRoutes } from './routes/logs.ts';
import { addStatsRoutes, clusterStats } from './routes/stats.ts';
import { NodeUsageReader } from '../metrics/node-usage.ts';
import type { UsageSource } from '../metrics/usage-reader.ts';
import { startAutoscaleLoop } from '../metrics/autoscale-loop.ts';
import type { NodeUsage, StatsReport } from '../api/types/stats.ts';
import type { Node } from '../api/types/node.ts';
import { addVolumeRoutes } from './routes/volumes.ts';
import { addSystemDfRoute } from './routes/system-df.ts';
import { VolumeStore } from '../agent/volumes/volume-store.ts';
import { SwarmNode, type SwarmContext } from '../swarm/swarm-node.ts';
import { SHOAL_VERSION } from './routes/system.ts';
import { currentRelease } from '../common/release.ts';
import { UnavailableError } from '../api/errors.ts';
import { NodeKeyVault, SwarmLockedError } from '../manager/keys/index.ts';
import { removeSwarmState } from '../swarm/swarm-state.ts';
import os from 'node:os';
import type { MetricsServer } from '../metrics/server.ts';
import type { Dashboard } from '../dashboard/server.ts';
import { realClock } from '../agent/exec/health.ts';
import { wireguardIdentity } from '../agent/network/wireguard-plane.ts';
import { probeWgPath, type WgPath } from '../../net/wireguard/device.ts';

/** This build's version and store schema as the node states them (see `common/release.ts`). */
const RELEASE = currentRelease(SHOAL_VERSION);

/** The executor's run-state dir (runtime root, monitor, task records, bundles): gone on reboot, like the containers. */
const STATE_DIR = '/run/shoal';

/** The swarm part of `/info` before this node is part of a swarm. */
const INACTIVE_SWARM: SwarmInfo = {
  NodeID: '',
  NodeAddr: '',
  LocalNodeState: 'inactive',
  ControlAvailable: false,
  Error: '',
  RemoteManagers: null,
};

export class Daemon {
  private stopping?: Promise<void>;
  private server?: http.Server;
  /** The Prometheus listener (`--metrics-addr`), when asked for. */
  private metricsServer?: MetricsServer;
  /** The web dashboard (`--dashboard-addr`), when asked for. */
  private dashboard?: Dashboard;
  /** Standalone containers (`docker run`). */
  private standalone?: StandaloneContainers;
  /** The `tcp://` hosts (`--host tcp://…`), served beside the unix socket. */
  private readonly tcpServers: http.Server[] = [];
  /** This node's swarm membership; undefined while it is in none, or locked. */
  swarm?: SwarmNode;
  /** This node's keys at rest; `locked` while they are sealed and no unlock key was given (no swarm role runs). */
  private readonly vault: NodeKeyVault;
  private locked = false;
  /** Serialises init / join / leave: one membership change at a time. */
  private membershipChange: Promise<unknown> = Promise.resolve();
  private images?: ImageService;
  /** This node's volumes: those of `docker volume create` and of services' volume mounts. */
  private volumes?: VolumeStore;
  private engineId = '';
  /** This node's task usage (`/shoal/node-usage`, 2377 `/usage` for managers' `/shoal/stats`). */
  private usageReader?: NodeUsageReader;
  /** Stops the leader's autoscaler loop (`com.shoal.autoscale.*` services). */
  private stopAutoscale?: () => void;
  /** Every node's usage, as `GET /shoal/stats` answers it (managers only). */
  private clusterStats?: () => Promise<StatsReport>;
  /** The executor, made and restored when this node first runs a task (it needs root and runc). */
  private executorP?: Promise<Executor>;
  private executorInstance?: Executor;
  /**
   * `SHOAL_DATA_PLANE=off`: tasks get no overlay networking. Only for test daemons that
   * run in the machine's own network namespace, where the overlay, the routing mesh's
   * nftables table and host-port rules must not touch the host.
   */
  private readonly dataPlaneOff = process.env.SHOAL_DATA_PLANE === 'off';
  /** Which WireGuard this host has (encrypted overlays), probed once when the description is first stated. */
  private wgPath: WgPath | undefined;

  private constructor(
    readonly config: DaemonConfig,
    private readonly logger: Logger,
    private readonly lock: DataRootLock,
  ) {
    this.vault = new NodeKeyVault({ dataRoot: config.dataRoot, logger: logger.child('keys') });
  }

  /** The membership the routes use: throws Docker's "swarm is encrypted…" (503) while locked. */
  private currentSwarm(): SwarmNode | undefined {
    if (this.locked) throw new SwarmLockedError();
    return this.swarm;
  }

  /** `swarm unlock`: checks the key against the sealed files (a wrong one changes nothing), then starts the swarm role. */
  private unlock(key: string): Promise<void> {
    return this.changeMembership(async () => {
      await this.vault.unlock(key);
      this.swarm = await SwarmNode.restore(this.swarmContext());
      this.locked = false;
      this.logger.info('swarm unlocked');
    });
  }

  private swarmContext(): SwarmContext {
    const { config } = this;
    return {
      dataRoot: config.dataRoot,
      listenAddr: `${config.listenAddr.ip}:${config.listenAddr.port}`,
      advertiseAddr: config.advertiseAddr,
      description: () => nodeDescription(config, this.dataPlaneOff ? undefined : (this.wgPath ??= probeWgPath())),
      logger: this.logger.child('swarm'),
      heartbeatMs: Number(process.env.SHOAL_HEARTBEAT_MS) || undefined,
      // Benchmarks only (issue 20, like-for-like failover): Raft's tick, ms; the election
      // timeout is 50 ticks, the heartbeat 5. Unset: RaftNode's default (10 ms).
      raftTickMs: Number(process.env.SHOAL_RAFT_TICK_MS) || undefined,
      executor: () => this.executor(),
      keys: this.vault,
      images: this.images,
      nodeUsage: this.usageReader ? () => this.usageReader!.read() : undefined,
      // Before the standalone containers are loaded every container counts as there.
      standaloneExists: (cid) => (this.standalone ? this.standalone.name(cid) !== undefined : true),
      networking: this.dataPlaneOff ? undefined : (localAddr) => new LazyNetworking(
        () => NetworkAgent.open({ dataRoot: config.dataRoot, logger: this.logger.child('network'), localAddr }),
        new StateFile(config.dataRoot).file,
        this.logger.child('network'),
      ),
    };
  }

  private executor(): Promise<Executor> {
    this.executorP ??= (async () => {
      const images = this.images!;
      const name = executorName(this.config.hostname, this.engineId);
      const ex = new Executor({ name, dataRoot: this.config.dataRoot, stateDir: STATE_DIR, images, runtime: this.config.runtime, logger: this.logger.child('exec'), volumes: this.volumes });
      images.inUse = (id) => ex.imageInUse(id);
      const report = await ex.restore();
      this.logger.info('executor restored', { adopted: report.adopted.length, exited: report.exited.length, orphans: report.orphansRemoved.length });
      this.executorInstance = ex;
      return ex;
    })();
    this.executorP.catch(() => (this.executorP = undefined));
    return this.executorP;
  }

  private changeMembership<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.membershipChange.then(fn, fn);
    this.membershipChange = next.catch(() => {});
    return next;
  }

  /** Starts a daemon; rejects (having undone everything) if any part fails to start. */
  static async start(config: DaemonConfig, logger: Logger): Promise<Daemon> {
    // Owner-only, also when they already exist: the data root holds keys, Raft data,
    // task specs and logs; the run-state dir bundles, records and the monitor socket.
    privateDir(config.dataRoot);
    privateDir(join(config.dataRoot, 'images'));
    privateDir(STATE_DIR);
    const lock = await lockDataRoot(config.dataRoot);
    const daemon = new Daemon(config, logger, lock);
    try {
      const engineId = await loadEngineId(config.dataRoot);
      daemon.engineId = engineId;
      // Docker endpoints without a route answer 501 naming them, not 404.
      const router = new Router({ notImplemented: new NotImplementedTable(dockerEndpoints()) });
      const images = new ImageService({ root: join(config.dataRoot, 'images'), insecureRegistries: config.insecureRegistries });
      daemon.images = images;
      addImageRoutes(router, { images });
      // Image, network and build-cache prunes (`docker system prune` calls each).
      addPruneRoutes(router, { images, swarm: () => daemon.currentSwarm() });
      addSystemRoutes(router, {
        config,
        engineId,
        swarmInfo: () => (daemon.locked ? { ...INACTIVE_SWARM, LocalNodeState: 'locked' } : daemon.swarm?.swarmInfo() ?? INACTIVE_SWARM),
        containerCounts: () => {
          const states = daemon.executorInstance?.list().map((c) => c.state) ?? [];
          const running = states.filter((s) => s === 'running').length;
          return { running, paused: 0, stopped: states.length - running };
        },
        imageCount: () => images.list().length,
      });
      const alreadyInSwarm = () =>
        new UnavailableError('This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.');
      addSwarmRoutes(router, {
        swarm: () => daemon.currentSwarm(),
        unlock: (key: string) => daemon.unlock(key),
        init: (req: InitRequest) =>
          daemon.changeMembership(async () => {
            if (daemon.locked) throw new SwarmLockedError();
            if (req.ForceNewCluster) {
              daemon.swarm = await SwarmNode.forceNewCluster(daemon.swarmContext(), daemon.swarm);
              return daemon.swarm;
            }
            if (daemon.swarm) throw alreadyInSwarm();
            daemon.swarm = await SwarmNode.init(daemon.swarmContext(), req);
            return daemon.swarm;
          }),
        join: (req: JoinRequest) =>
          daemon.changeMembership(async () => {
            if (daemon.swarm || daemon.locked) throw alreadyInSwarm();
            daemon.swarm = await SwarmNode.join(daemon.swarmContext(), req);
            return daemon.swarm;
          }),
        leave: (force: boolean) =>
          daemon.changeMembership(async () => {
            if (daemon.locked) {
              // Docker: a locked node leaves only by force (its state cannot be read to check quorum).
              if (!force) throw new UnavailableError('Swarm is encrypted and locked. Please unlock it first or use `--force` to ignore this message.');
              await removeSwarmState(config.dataRoot);
              daemon.locked = false;
              daemon.vault.forget();
              return;
            }
            if (!daemon.swarm) throw new UnavailableError(NOT_IN_SWARM);
            await daemon.swarm.leave(force);
            daemon.swarm = undefined;
            daemon.vault.forget();
          }),
      });
      addSwarmBackupRoutes(router, {
        swarm: () => daemon.currentSwarm(),
        restore: (backup, req) =>
          daemon.changeMembership(async () => {
            if (daemon.swarm || daemon.locked) throw alreadyInSwarm();
            daemon.swarm = await SwarmNode.initFromBackup(daemon.swarmContext(), backup, req);
            return daemon.swarm;
          }),
      });
      addServiceRoutes(router, () => daemon.currentSwarm());
      addTaskRoutes(router, () => daemon.currentSwarm());
      addSecretRoutes(router, () => daemon.currentSwarm());
      addConfigRoutes(router, () => daemon.currentSwarm());
      // This node's task containers, as a Docker engine shows them (`docker ps`, `exec`, `logs`, `stats`).
      // execIds is called only after both exist.
      const engine: NodeEngine = new NodeEngine({ executor: () => daemon.executorInstance, tasks: () => daemon.swarm?.agentTasks() ?? [], execIds: (cid): string[] => execs.idsOf(cid), standalone: () => standalone });
      // Standalone containers (`docker run`): the same executor, never tasks (routes/containers-lifecycle.ts).
      const standalone: StandaloneContainers = new StandaloneContainers({
        executor: () => daemon.executor(), recordsDir: join(config.dataRoot, 'standalone'), logger: logger.child('standalone'),
        resolveImage: (ref) => images.resolveForRun(ref),
        bridge: new DefaultBridge({ dataRoot: config.dataRoot, logger: logger.child('bridge') }),
        volumes: { remove: (n, users) => daemon.volumes!.remove(n, users) },
        nameTaken: (n) => { try { return !!engine.find(n); } catch { return false; } },
        // Attachable overlays: through this node's swarm session (absent outside a swarm).
        attachments: () => daemon.swarm?.attachments,
      });
      daemon.standalone = standalone;
      const execLog = logger.child('exec');
      const execs: ExecManager = new ExecManager({
        engine, executor: () => daemon.executorInstance, allCaps: () => detectSandboxHost().caps ?? [],
        // Why an exec went through runc rather than the container's helper (once per container).
        log: (msg) => execLog.warn(msg),
      });
      addContainerRoutes(router, engine);
      addExecRoutes(router, execs);
      // `docker cp` both ways, `docker diff`, `docker export`.
      addContainerFileRoutes(router, new ContainerFiles(engine));
      addContainerLifecycleRoutes(router, { engine, standalone });
      addEventRoutes(router, () => daemon.currentSwarm());
      addLogRoutes(router, () => daemon.currentSwarm());
      // Resource usage of this node's tasks (src/metrics): `/shoal/node-usage`, `/shoal/stats` on managers, and the metrics.
      const usageSource: UsageSource = { containers: () => daemon.executorInstance?.list() ?? [], tasks: () => daemon.swarm?.agentTasks() ?? [] };
      const nodeUsage = new NodeUsageReader({ source: usageSource, nodeId: () => daemon.swarm?.nodeId ?? '', hostname: config.hostname });
      daemon.usageReader = nodeUsage;
      const statsDeps = {
        swarm: () => daemon.currentSwarm(), usage: nodeUsage,
        peerUsage: (n: Node) => daemon.swarm!.peerGet<NodeUsage>(n.ID, peerAddr(n, daemon.swarm?.manager), '/usage'),
      };
      addStatsRoutes(router, statsDeps);
      // The autoscaler (on the leader) and the dashboard read the same fan-out as `/shoal/stats`.
      daemon.clusterStats = () => clusterStats(statsDeps);
      daemon.stopAutoscale = startAutoscaleLoop({
        manager: () => daemon.swarm?.manager,
        usage: async () => (daemon.swarm?.manager ? (await clusterStats(statsDeps)).nodes.flatMap((n) => n.tasks) : []),
        logger: logger.child('autoscale'),
      });
      const volumes = new VolumeStore({ dataRoot: config.dataRoot });
      daemon.volumes = volumes;
      // Which of this node's containers name each volume (removed ones no longer count).
      // While the executor is re-adopting containers after a restart, wait for it: an
      // empty answer then would let a volume in use be removed.
      const volumeUsage = async (): Promise<Map<string, string[]>> => {
        if (!daemon.executorInstance && daemon.executorP) await daemon.executorP.catch(() => {});
        const out = new Map<string, string[]>();
        for (const c of daemon.executorInstance?.list() ?? []) {
          if (c.state === 'removed') continue;
          for (const m of c.spec.mounts ?? []) if (m.type === 'volume' && m.source) out.set(m.source, [...(out.get(m.source) ?? []), c.cid]);
        }
        return out;
      };
      addVolumeRoutes(router, { volumes, usage: volumeUsage });
      addSystemDfRoute(router, {
        images: () => images.list(), imageLabels: (id) => (images.runConfig(id).Labels as Record<string, string> | undefined) ?? null,
        containers: () => engine.list({ all: true, size: true, filters: new Map() }), volumes, usage: volumeUsage,
      });
      // `Containers` of `network inspect`: this node's endpoints, from its data plane.
      addNetworkRoutes(router, () => daemon.currentSwarm(), { endpoints: (id) => daemon.swarm?.networking?.endpoints(id) ?? [], wireguard: () => daemon.swarm?.networking?.wireguardStatus() });
      // A manager whose keys are sealed by the unlock key starts locked: no Raft, no session,
      // every swarm request answered "swarm is encrypted…" until `swarm unlock`.
      if (await daemon.vault.locked()) {
        daemon.locked = true;
        logger.warn('swarm is locked: its keys are sealed by the unlock key; waiting for `swarm unlock`');
      } else daemon.swarm = await SwarmNode.restore(daemon.swarmContext());
      // Standalone containers a previous daemon ran: watch them again (and re-adopt the executor).
      if (standalone.any) void standalone.restore().catch((err) => logger.warn('could not restore standalone containers', { error: err }));
      daemon.server = await listenUnix(router.listener, config.hostAddress.socketPath);
      // Docker's hijacked streams (`docker exec`): the exec start takes the connection over.
      daemon.server.on('upgrade', router.upgradeListener);
      for (const h of config.remoteHosts) {
        const s = await listenTcp(router.listener, { ...h, tls: config.tls, insecure: config.insecureTcp, logger });
        s.on('upgrade', router.upgradeListener);
        daemon.tcpServers.push(s);
      }
      // The dashboard and the metrics (prom-client) are loaded only when asked for: every
      // other daemon start skips compiling them.
      if (config.dashboardAddr) {
        const [{ startDashboard }, { isLoopback }, { LiveFeed }, { UsageFeed }] = await Promise.all([
          import('../dashboard/server.ts'), import('../dashboard/auth.ts'), import('../dashboard/live-feed.ts'), import('../dashboard/usage-feed.ts'),
        ]);
        const feed = new LiveFeed({ manager: () => daemon.currentSwarm()?.manager, nodeId: () => daemon.swarm?.nodeId ?? '' }, { clock: realClock });
        const usage = new UsageFeed({ read: () => daemon.clusterStats!(), clock: realClock });
        // Off loopback, the --tlsverify material (if any) makes it HTTPS with client certificates instead of a token.
        const tls = config.tls && !isLoopback(config.dashboardAddr.ip) ? config.tls : undefined;
        daemon.dashboard = await startDashboard({ addr: config.dashboardAddr, feed, usage, tls, api: router.listener, logger: logger.child('dashboard') });
      }
      if (config.metricsAddr) {
        const [{ NodeMetrics }, { serveMetrics }] = await Promise.all([import('../metrics/registry.ts'), import('../metrics/server.ts')]);
        const metrics = new NodeMetrics({
          usage: usageSource,
          // The network agent's saved sandboxes (none with SHOAL_DATA_PLANE=off): VXLAN series per network.
          sandboxes: () => {
            if (daemon.dataPlaneOff) return [];
            const st = new StateFile(config.dataRoot).load();
            return Object.values(st.sandboxes).filter((sb) => sb.ready)
              .map((sb) => ({ networkId: sb.networkId, netns: sb.netns, vni: sb.vni, ingress: sb.networkId === st.ingress?.networkId }));
          },
          dns: () => daemon.swarm?.networking?.dnsStats(),
          manager: () => daemon.swarm?.manager,
        });
        daemon.metricsServer = await serveMetrics(metrics, { host: config.metricsAddr.ip, port: config.metricsAddr.port });
        logger.info('metrics served', { 'metrics.addr': `${config.metricsAddr.ip}:${daemon.metricsServer.address.port}` });
      }
      logger.info('daemon started', { 'api.host': config.host, 'data.root': config.dataRoot, 'node.hostname': config.hostname, pid: process.pid });
      return daemon;
    } catch (err) {
      await daemon.metricsServer?.close().catch(() => {});
      await daemon.dashboard?.close().catch(() => {});
      for (const s of daemon.tcpServers) await closeServer(s).catch(() => {});
      if (daemon.server) await closeServer(daemon.server, config.hostAddress.socketPath).catch(() => {});
      await daemon.swarm?.stop().catch(() => {});
      await lock.release();
      throw err;
    }
  }

  /** Stops everything; safe to call more than once (later calls wait for the first). */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.logger.info('daemon stopping');
      this.stopAutoscale?.();
      await this.metricsServer?.close();
      await this.dashboard?.close();
      await Promise.all(this.tcpServers.map((s) => closeServer(s)));
      if (this.server) await closeServer(this.server, this.config.hostAddress.socketPath);
      await this.swarm?.stop();
      // Containers keep running; the next daemon re-adopts them.
      await this.standalone?.close();
      this.executorInstance?.close();
      await this.lock.release();
      this.logger.info('daemon stopped');
    })();
    return this.stopping;
  }
}

/**
 * Where another node answers on its swarm port: its address with the port it heartbeats
 * from (its listen port), else its manager address's, else 2377.
 */
function peerAddr(n: Node, manager: { heartbeatAddr(id: string): string | undefined } | undefined): string {
  const port = /:(\d+)$/.exec(manager?.heartbeatAddr(n.ID) ?? n.ManagerStatus?.Addr ?? '')?.[1] ?? '2377';
  return n.Status.Addr.includes(':') ? `[${n.Status.Addr}]:${port}` : `${n.Status.Addr}:${port}`;
}

/** The engine's ID, made once per data root, in Docker's format (12 groups of 4 base32 chars). */
async function loadEngineId(dataRoot: string): Promise<string> {
  const path = join(dataRoot, 'engine-id');
  try {
    const id = (await readFile(path, 'utf8')).trim();
    if (id) return id;
  } catch {
    // first start: make one below
  }
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bytes = randomBytes(48);
  const chars = Array.from(bytes, (b) => alphabet[b & 31]).join('');
  const id = chars.match(/.{4}/g)!.join(':');
  await mkdir(dataRoot, { recursive: true });
  await writeFile(path, id + '\n', { mode: 0o600 });
  return id;
}

/** What this node tells the managers about itself. */
function nodeDescription(config: DaemonConfig, wgPath: WgPath | undefined): NodeDescription {
  return {
    // Encrypted overlays: this node's WireGuard public key (its private key stays here).
    ...(wgPath ? { ShoalWireGuard: wireguardIdentity(config.dataRoot, wgPath) } : {}),
    Hostname: config.hostname,
    Platform: { Architecture: os.machine(), OS: 'linux' },
    Resources: {
      NanoCPUs: os.availableParallelism() * 1e9,
      MemoryBytes: os.totalmem(),
      ...(config.nodeGenericResources.length ? { GenericResources: config.nodeGenericResources } : {}),
    },
    ShoalStoreSchema: RELEASE.storeSchema,
    Engine: {
      EngineVersion: RELEASE.version,
      Labels: Object.fromEntries(config.labels.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])),
      Plugins: [{ Type: 'Network', Name: 'overlay' }, { Type: 'Volume', Name: 'local' }],
    },
  };
}
