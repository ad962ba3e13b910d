/**
 * `/swarm…` and `/nodes…` of the control API, in Docker's shapes: init, join, leave,
 * inspect, update (with join-token rotation), and the node list, inspect, update and
 * removal. Writes validate first, so bad input changes nothing; versions guard
 * against lost updates ("update out of sequence").
 */
import { randomBytes } from 'node:crypto';
import type { Router } from '../../common/router.ts';
import { ApiError, ConflictError, InvalidArgumentError, NotFoundError, UnavailableError } from '../../api/errors.ts';
import type { Node, NodeSpec } from '../../api/types/node.ts';
import type { InitRequest, JoinRequest, Swarm, SwarmSpec } from '../../api/types/swarm.ts';
import { DEFAULT_NODE_CERT_EXPIRY_MS, generateJoinToken } from '../../manager/ca/index.ts';
import { checkSwarmBody, checkUnsupportedQuery } from '../../api/spec/swarm-spec.ts';
import type { Manager } from '../../manager/manager.ts';
import type { SwarmNode } from '../../swarm/swarm-node.ts';
import { prepareCAUpdate, swarmCAView } from './swarm-ca.ts';
import { generateUnlockKey } from '../../manager/keys/index.ts';

/** What the routes need of the daemon: the current swarm membership, and how to change it. */
export interface SwarmHost {
  swarm(): SwarmNode | undefined;
  init(req: InitRequest): Promise<SwarmNode>;
  join(req: JoinRequest): Promise<SwarmNode>;
  leave(force: boolean): Promise<void>;
  /** `swarm unlock`: opens this node's sealed keys with the key and starts its swarm role. */
  unlock?(key: string): Promise<void>;
}

export const NOT_IN_SWARM = 'This node is not part of a swarm';
/** Docker's 503 for a manager's endpoint (nodes, services, networks, …) on a node in no swarm. */
export const NO_SWARM_MANAGER = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';

function requireSwarm(host: SwarmHost): SwarmNode {
  const s = host.swarm();
  if (!s) throw new UnavailableError(NO_SWARM_MANAGER);
  return s;
}

/**
 * Reads are linearizable when the swarm has a leader (a Raft read barrier first). Without
 * quorum they still answer from this manager's copy, and say so in a `Warning` header
 * (the shoal CLI prints it), rather than failing: the state may be stale.
 */
async function readBarrier(manager: Manager, res: { setHeader(k: string, v: string): void }): Promise<void> {
  try {
    await manager.barrier(1500);
  } catch {
    res.setHeader('Warning', '199 shoal "the swarm has no leader (no quorum of managers): this state may be stale"');
  }
}

function parseVersion(q: URLSearchParams): number {
  const v = q.get('version');
  if (v === null || !/^\d+$/.test(v)) throw new InvalidArgumentError('invalid or missing version: an update must quote the version it read (?version=N)');
  return Number(v);
}

/** Finds a node by full ID, unique ID prefix, or hostname (as Docker does). */
export function resolveNode(manager: Manager, ref: string): Node {
  const nodes = manager.store.view((tx) => tx.list('node'));
  const exact = nodes.find((n) => n.ID === ref);
  if (exact) return exact;
  const byName = nodes.filter((n) => n.Description.Hostname === ref);
  if (byName.length === 1) return byName[0];
  const byPrefix = nodes.filter((n) => n.ID.startsWith(ref));
  if (byPrefix.length === 1 && ref.length > 0) return byPrefix[0];
  if (byName.length > 1 || byPrefix.length > 1) throw new ConflictError(`node ${ref} is ambiguous (${byName.length || byPrefix.length} matches found)`);
  throw new NotFoundError(`node ${ref} not found`);
}

/** A node as the API shows it: leader and reachability filled in from Raft. */
function renderNode(manager: Manager, n: Node): Node {
  if (!n.ManagerStatus) return n;
  const out = structuredClone(n);
  out.ManagerStatus = { ...out.ManagerStatus!, Reachability: manager.reachability(n.ID) };
  if (manager.leaderId === n.ID) out.ManagerStatus.Leader = true;
  else delete out.ManagerStatus.Leader;
  return out;
}

/** Docker's node list filters: id, name, role, membership, label, node.label. */
function matchesFilters(n: Node, filters: Record<string, string[] | Record<string, boolean>>): boolean {
  const values = (k: string) => {
    const v = filters[k];
    return v === undefined ? undefined : Array.isArray(v) ? v : Object.keys(v).filter((x) => (v as Record<string, boolean>)[x]);
  };
  const ids = values('id');
  if (ids && !ids.some((p) => n.ID.startsWith(p))) return false;
  const names = values('name');
  if (names && !names.some((p) => n.Description.Hostname.startsWith(p))) return false;
  const roles = values('role');
  if (roles && !roles.includes(n.Spec.Role)) return false;
  const membership = values('membership');
  if (membership && !membership.includes('accepted')) return false;
  for (const key of ['label', 'node.label'] as const) {
    const labels = values(key);
    if (!labels) continue;
    const source = key === 'label' ? n.Description.Engine.Labels : n.Spec.Labels;
    for (const l of labels) {
      const [k, v] = l.split('=', 2);
      if (!(k in source) || (v !== undefined && source[k] !== v)) return false;
    }
  }
  return true;
}

export function parseFilters(q: URLSearchParams, allowed?: string[]): Record<string, string[] | Record<string, boolean>> {
  const raw = q.get('filters');
  if (!raw) return {};
  let parsed: Record<string, string[] | Record<string, boolean>>;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new InvalidArgumentError(`invalid filter: ${raw}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InvalidArgumentError(`invalid filter: ${raw}`);
  for (const k of Object.keys(parsed)) if (allowed && !allowed.includes(k)) throw new InvalidArgumentError(`invalid filter '${k}'`);
  return parsed;
}

function validateNodeSpec(spec: NodeSpec | undefined): NodeSpec {
  if (!spec || typeof spec !== 'object') throw new InvalidArgumentError('invalid node spec: body must be a NodeSpec object');
  if (!['worker', 'manager'].includes(spec.Role)) throw new InvalidArgumentError(`invalid role "${spec.Role}": must be worker or manager`);
  if (!['active', 'pause', 'drain'].includes(spec.Availability)) throw new InvalidArgumentError(`invalid availability "${spec.Availability}": must be active, pause or drain`);
  const labels = spec.Labels ?? {};
  if (typeof labels !== 'object' || Object.values(labels).some((v) => typeof v !== 'string')) throw new InvalidArgumentError('invalid node labels: must map names to strings');
  return { ...(spec.Name ? { Name: spec.Name } : {}), Labels: labels, Role: spec.Role, Availability: spec.Availability };
}

export function addSwarmRoutes(router: Router, host: SwarmHost): void {
  router.post('/swarm/init', async (ctx) => {
    const req = checkSwarmBody<InitRequest>('SwarmInitRequest', (await ctx.body<InitRequest>()) ?? { ListenAddr: '' });
    // `--autolock` (Docker sends AutoLockManagers beside the spec): the spec says so, and the
    // cluster gets its first unlock key; the managers seal their keys with it.
    const autolock = req.AutoLockManagers === true || req.Spec?.EncryptionConfig?.AutoLockManagers === true;
    if (autolock) req.Spec = { ...req.Spec, EncryptionConfig: { AutoLockManagers: true } };
    const node = await host.init(req);
    if (autolock && !req.ForceNewCluster) {
      await node.requireManager().store.update((tx) => {
        const c = tx.list('cluster')[0];
        if (c && !c.UnlockKey) tx.update('cluster', { ...c, UnlockKey: generateUnlockKey() });
      });
    }
    return node.nodeId;
  });

  router.post('/swarm/join', async (ctx) => {
    const body = await ctx.body<JoinRequest>();
    if (!body) throw new InvalidArgumentError('invalid join request: empty body');
    const req = checkSwarmBody<JoinRequest>('SwarmJoinRequest', body);
    const node = await host.join(req);
    // Docker's join answers once the node is ready: its session is up and the managers see
    // it ready (a manager: a Raft voter), so work created next can be placed on it.
    await node.waitJoined();
    ctx.res.writeHead(200).end();
  });

  router.post('/swarm/leave', async (ctx) => {
    await host.leave(ctx.query.get('force') === 'true' || ctx.query.get('force') === '1');
    ctx.res.writeHead(200).end();
  });

  router.get('/swarm', async (ctx) => {
    const manager = requireSwarm(host).requireManager();
    await readBarrier(manager, ctx.res);
    const { RootCA: root, RemovedNodes: _removed, UnlockKey: _unlock, ShoalNetworkKey: _netKey, ...cluster } = manager.cluster();
    return { ...cluster, ...swarmCAView(root) } satisfies Swarm;
  });

  router.post('/swarm/update', async (ctx) => {
    const manager = requireSwarm(host).requireManager();
    const version = parseVersion(ctx.query);
    const body = await ctx.body<SwarmSpec>();
    if (!body || typeof body !== 'object') throw new InvalidArgumentError('invalid swarm spec: body must be a Spec object');
    // Types, bounds, and fields Shoal does not implement (CA rotation, autolock, …: 501, so
    // `docker swarm ca --rotate` fails at once instead of waiting for a rotation that never starts).
    checkUnsupportedQuery('POST /swarm/update', ctx.query);
    const spec = checkSwarmBody<SwarmSpec>('SwarmSpec', body, manager.cluster().Spec);
    const rotateWorker = ctx.query.get('rotateWorkerToken') === 'true';
    const rotateManager = ctx.query.get('rotateManagerToken') === 'true';
    const rotateUnlock = ctx.query.get('rotateManagerUnlockKey') === 'true' || ctx.query.get('rotateManagerUnlockKey') === '1';
    if (spec.CAConfig?.NodeCertExpiry !== undefined && spec.CAConfig.NodeCertExpiry !== 0 && spec.CAConfig.NodeCertExpiry < 3600e9) {
      throw new InvalidArgumentError('invalid CAConfig.NodeCertExpiry: minimum certificate expiry time is 1h0m0s');
    }
    if (spec.Dispatcher?.HeartbeatPeriod !== undefined && spec.Dispatcher.HeartbeatPeriod < 0) throw new InvalidArgumentError('invalid HeartbeatPeriod: must not be negative');
    const rand = (n: number) => new Uint8Array(randomBytes(n));
    // Root CA rotation (`swarm ca --rotate`): the new root is made before the transaction.
    const caUpdate = await prepareCAUpdate(manager.cluster(), spec.CAConfig, { now: Date.now() });
    await manager.store.update((tx) => {
      const current = manager.cluster();
      const next = structuredClone(current);
      next.Version = { Index: version };
      // Fields a client leaves out keep their value (docker sends the whole spec it read).
      next.Spec = { ...current.Spec, ...spec, Raft: { ...current.Spec.Raft, ...spec.Raft }, Dispatcher: { ...current.Spec.Dispatcher, ...spec.Dispatcher }, CAConfig: { ...current.Spec.CAConfig, ...spec.CAConfig } };
      caUpdate.apply(next);
      if (rotateWorker) next.JoinTokens.Worker = generateJoinToken(current.RootCA!.CACert, rand);
      if (rotateManager) next.JoinTokens.Manager = generateJoinToken(current.RootCA!.CACert, rand);
      // Autolock (SwarmKit's rule): on, the cluster has an unlock key (a new one when asked to
      // rotate); off, it has none. Each manager re-seals its own keys to follow.
      next.Spec.EncryptionConfig = { AutoLockManagers: next.Spec.EncryptionConfig?.AutoLockManagers === true };
      if (!next.Spec.EncryptionConfig.AutoLockManagers) delete next.UnlockKey;
      else if (!next.UnlockKey || rotateUnlock) next.UnlockKey = generateUnlockKey();
      tx.update('cluster', next);
    });
    ctx.res.writeHead(200).end();
  });

  router.get('/swarm/unlockkey', async (ctx) => {
    const manager = requireSwarm(host).requireManager();
    await readBarrier(manager, ctx.res);
    return { UnlockKey: manager.cluster().UnlockKey ?? '' };
  });

  router.post('/swarm/unlock', async (ctx) => {
    const body = await ctx.body<{ UnlockKey?: unknown }>();
    if (!body || typeof body.UnlockKey !== 'string') throw new InvalidArgumentError('invalid unlock request: UnlockKey must be a string');
    try {
      host.swarm();
    } catch (err) {
      // Locked: the one request a locked node serves.
      if ((err as Error).name !== 'SwarmLockedError' || !host.unlock) throw err;
      await host.unlock(body.UnlockKey);
      ctx.res.writeHead(200).end();
      return;
    }
    if (!host.swarm()) throw new UnavailableError(NOT_IN_SWARM);
    throw new ConflictError('swarm is not locked');
  });

  router.get('/nodes', async (ctx) => {
    const manager = requireSwarm(host).requireManager();
    const filters = parseFilters(ctx.query, ['id', 'label', 'node.label', 'membership', 'name', 'role']);
    await readBarrier(manager, ctx.res);
    return manager.store.view((tx) => tx.list('node')).filter((n) => matchesFilters(n, filters)).map((n) => renderNode(manager, n));
  });

  router.get('/nodes/:id', async (ctx) => {
    const manager = requireSwarm(host).requireManager();
    await readBarrier(manager, ctx.res);
    return renderNode(manager, resolveNode(manager, ctx.params.id));
  });

  router.post('/nodes/:id/update', async (ctx) => {
    const manager = requireSwarm(host).requireManager();
    const version = parseVersion(ctx.query);
    const body = await ctx.body<NodeSpec>();
    const spec = validateNodeSpec(body === undefined ? undefined : checkSwarmBody<NodeSpec>('NodeSpec', body));
    const node = resolveNode(manager, ctx.params.id);
    if (node.Spec.Role === 'manager' && spec.Role === 'worker') {
      const managers = manager.store.view((tx) => tx.find('node', { role: 'manager' }));
      if (managers.length <= 1) throw new ApiError('rpc error: code = FailedPrecondition desc = attempting to demote the last manager of the swarm', 400);
      // SwarmKit's quorum safeguard: the voters that stay must still reach a quorum.
      if (!manager.canRemoveMember(node.ID)) {
        throw new ApiError('rpc error: code = FailedPrecondition desc = can\'t remove member from the raft: this would result in a loss of quorum', 400);
      }
    }
    await manager.store.update((tx) => {
      const next = structuredClone(node);
      next.Version = { Index: version };
      next.Spec = spec;
      if (spec.Role === 'manager' && !next.ManagerStatus) {
        // Raft reaches the new manager where its heartbeats come from (its advertised address).
        next.ManagerStatus = { Reachability: 'unknown', Addr: manager.heartbeatAddr(node.ID) ?? `${node.Status.Addr}:2377` };
      }
      if (spec.Role === 'worker') delete next.ManagerStatus;
      tx.update('node', next);
    });
    ctx.res.writeHead(200).end();
  });

  router.delete('/nodes/:id', async (ctx) => {
    const manager = requireSwarm(host).requireManager();
    const force = ctx.query.get('force') === 'true' || ctx.query.get('force') === '1';
    const node = resolveNode(manager, ctx.params.id);
    // A demoted manager stays a Raft member until its removal is committed: not before then.
    if (node.Spec.Role === 'manager' || manager.isRaftMember(node.ID)) {
      throw new ApiError(`rpc error: code = FailedPrecondition desc = node ${node.ID} is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal`, 400);
    }
    if (node.Status.State === 'ready' && !force) {
      throw new ApiError(`rpc error: code = FailedPrecondition desc = node ${node.ID} is not down and can't be removed`, 400);
    }
    const now = Date.now();
    await manager.store.update((tx) => {
      tx.delete('node', node.ID);
      // The tombstone: the node's certificate is refused on every 2377 endpoint for as long
      // as it can be valid (SwarmKit's BlacklistedCertificates); expired ones are dropped.
      const current = tx.list('cluster')[0];
      if (!current) return;
      const cluster = structuredClone(current);
      // The longest a certificate issued before now can last (the expiry may have been lowered since).
      const expiry = Math.max(Math.round(cluster.Spec.CAConfig.NodeCertExpiry / 1e6) || 0, DEFAULT_NODE_CERT_EXPIRY_MS);
      const kept = Object.entries(cluster.RemovedNodes ?? {}).filter(([, until]) => until > now);
      cluster.RemovedNodes = Object.fromEntries([...kept, [node.ID, now + expiry]]);
      tx.update('cluster', cluster);
    });
    ctx.res.writeHead(200).end();
  });
}
