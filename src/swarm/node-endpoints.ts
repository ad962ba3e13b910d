/**
 * What this node serves on 2377 beside the Raft and dispatcher streams' upgrades: the
 * root CA and `/join` for joining nodes, `/renew` for members' certificates, and the
 * Raft epoch endpoints of `--force-new-cluster`. A certificate outlives a demotion or a
 * removal: the store and the Raft configuration decide who may speak, never the
 * certificate alone.
 */
import type { TLSSocket } from 'node:tls';
import { ApiError, UnavailableError } from '../api/errors.ts';
import type { NodeRole } from '../api/types/node.ts';
import { DEFAULT_NODE_CERT_EXPIRY_MS, issueForJoin, issueForRenewal, parseJoinToken, peerIdentity, roleForJoinToken } from '../manager/ca/index.ts';
import type { Manager } from '../manager/manager.ts';
import type { JoinNodeRequest, JoinNodeResponse } from '../wire/types.ts';
import type { Dispatcher } from './dispatcher.ts';
import { cleanDescription, validateJoinRequest } from './join-request.ts';
import { requirePeer, type NodeServer } from './node-server.ts';
import { checkRemovalNotice, epochOf, type RemovalNotice } from './raft-epochs.ts';
import type { SwarmState } from './swarm-state.ts';
import { NOT_A_MANAGER, newNodeObject } from './swarm-setup.ts';

/** The parts of the node the endpoints read, as they are at each request. */
export interface EndpointsHost {
  readonly server: NodeServer;
  rootPem(): string;
  state(): SwarmState;
  manager(): Manager | undefined;
  dispatcher(): Dispatcher | undefined;
  managerAddrs(): Record<string, string>;
  readonly heartbeatMs: number;
  /** This node's resource usage for managers' `/shoal/stats` (src/metrics); absent: `/usage` answers 501. */
  usage?: () => Promise<unknown>;
  /** A removal notice was accepted: called after the answer is sent (the change stops the manager serving it). */
  removedBy(notice: RemovalNotice, managers: Record<string, string>): void;
}

/** Registers the 2377 routes and upgrades on `host.server`. */
export function addNodeRoutes(host: EndpointsHost): void {
  const r = host.server.router;
  // The root certificate is public: joining nodes check it against their token.
  r.get('/ca', (ctx) => {
    refuseStalePeer(host, ctx.req.socket as TLSSocket);
    return { rootPem: host.rootPem() };
  });
  r.post('/join', async (ctx) => {
    refuseStalePeer(host, ctx.req.socket as TLSSocket);
    return handleJoin(host, (await ctx.body<JoinNodeRequest>())!);
  });
  r.post('/renew', async (ctx) => handleRenew(host, ctx.req.socket as TLSSocket, (await ctx.body<{ csrPem: string }>())!));
  r.get('/raft-epoch', (ctx) => {
    const state = host.state();
    const manager = host.manager();
    const peer = peerIdentity(ctx.req.socket as TLSSocket);
    if (!peer || peer.clusterId !== state.clusterId) throw new ApiError('a certificate of this swarm is required', 401);
    if (state.role !== 'manager' || !manager) throw new ApiError('not a manager', 503);
    manager.standing('member', peer, state.clusterId);
    return epochOf(state);
  });
  r.get('/usage', (ctx) => {
    requirePeer(ctx.req.socket as TLSSocket, 'manager', host.state().clusterId);
    if (!host.usage) throw new ApiError('usage: not served by this node', 501);
    return host.usage();
  });
  r.post('/raft-removed', async (ctx) => handleRemoved(host, ctx.req.socket as TLSSocket, await ctx.body()));
  host.server.onUpgrade('/raft', (req, socket, head) => {
    const manager = host.manager();
    if (!manager) throw new ApiError('raft: not a manager', 503);
    // A certificate outlives a demotion or a removal: the store and the Raft configuration decide.
    const peer = manager.standing('raft', peerIdentity(req.socket as TLSSocket), host.state().clusterId);
    manager.acceptRaft(req, socket, head, peer);
  });
  host.server.onUpgrade('/dispatcher', (req, socket, head) => {
    const dispatcher = host.dispatcher();
    if (!dispatcher) throw new ApiError('not a manager', 503);
    dispatcher.accept(req, socket, head);
  });
}

function requireManager(host: EndpointsHost): Manager {
  const manager = host.manager();
  if (!manager) throw new UnavailableError(NOT_A_MANAGER);
  return manager;
}

/**
 * CA requests need no certificate; one that presents a certificate of this swarm must
 * still be a node of it (a removed node's certificate is refused here too).
 */
function refuseStalePeer(host: EndpointsHost, socket: TLSSocket): void {
  const peer = peerIdentity(socket);
  const manager = host.manager();
  if (peer && manager) manager.standing('member', peer, host.state().clusterId);
}

async function handleJoin(host: EndpointsHost, req: JoinNodeRequest): Promise<JoinNodeResponse> {
  validateJoinRequest(req);
  const manager = requireManager(host);
  // The token first, before any Raft round trip: a wrong token costs the cluster nothing.
  // A manager that joined a moment ago may not have the cluster yet, and tokens may have
  // been rotated since this copy: checked again after the barrier.
  parseJoinToken(req.token);
  const local = manager.store.view((tx) => tx.list('cluster'))[0];
  if (local) roleForJoinToken(req.token, local.JoinTokens);
  await manager.barrier();
  const cluster = manager.cluster();
  const signer = await manager.caSigner();
  const expiry = Math.round(cluster.Spec.CAConfig.NodeCertExpiry / 1e6) || DEFAULT_NODE_CERT_EXPIRY_MS;
  // The token is checked before anything is created: a refused join leaves no trace.
  const issued = await issueForJoin(signer, { token: req.token, csrPem: req.csrPem }, {
    clusterId: cluster.ID, tokens: cluster.JoinTokens, now: Date.now(), newNodeId: () => manager.store.newId(), expiry,
  });
  await manager.store.update((tx) => {
    tx.create('node', newNodeObject(issued.nodeId, issued.role, req.availability || 'active', cleanDescription(req.description), req.advertiseAddr, 'unknown'));
  });
  return {
    nodeId: issued.nodeId, role: issued.role, clusterId: cluster.ID, certPem: issued.certPem, rootPem: issued.rootPem,
    managers: host.managerAddrs(), heartbeatMs: host.heartbeatMs,
  };
}

/** A member asks for a fresh certificate with the role the store now gives it. */
async function handleRenew(host: EndpointsHost, socket: TLSSocket, body: { csrPem: string }): Promise<{ certPem: string; rootPem: string; role: NodeRole }> {
  const manager = requireManager(host);
  // The role comes from the store, never from the certificate presented.
  const peer = manager.standing('member', peerIdentity(socket), host.state().clusterId);
  const node = manager.store.view((tx) => tx.get('node', peer.nodeId));
  if (!node) throw new ApiError(`node ${peer.nodeId} was removed from the swarm`, 403);
  const cluster = manager.cluster();
  const issued = await issueForRenewal(await manager.caSigner(), { csrPem: body.csrPem, peer, role: node.Spec.Role }, {
    clusterId: cluster.ID, now: Date.now(), expiry: Math.round(cluster.Spec.CAConfig.NodeCertExpiry / 1e6) || DEFAULT_NODE_CERT_EXPIRY_MS,
  });
  return { certPem: issued.certPem, rootPem: issued.rootPem, role: issued.role };
}

/**
 * A forced manager says this node's Raft cluster was replaced. Accepted only from a
 * manager of this swarm whose epoch replaced ours: then this node drops its Raft
 * state and carries on as a worker of the new cluster (as Docker's old managers do).
 */
function handleRemoved(host: EndpointsHost, socket: TLSSocket, body: unknown): { ok: boolean } {
  const state = host.state();
  const { peer, notice } = checkRemovalNotice(socket, body, state.clusterId);
  const manager = host.manager();
  if (state.role !== 'manager' || !manager) return { ok: true };
  // Only a voter this manager follows now may end its Raft state (a former manager's
  // certificate still says manager), and only for the epoch this manager is in.
  manager.standing('removal-notice', peer, state.clusterId);
  if (!notice.replaces.includes(epochOf(state).epoch)) throw new ApiError('this manager is not part of the replaced Raft cluster', 409);
  // The notice names no addresses: the sender is reached where this node already knew it.
  const addr = host.managerAddrs()[peer.nodeId];
  host.removedBy(notice, addr ? { [peer.nodeId]: addr } : {});
  return { ok: true };
}
