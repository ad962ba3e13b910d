/**
 * Raft epochs after `swarm init --force-new-cluster`: the forced manager starts a new
 * epoch and tells the managers it removed; a removed manager coming back asks the others
 * whether an epoch replaced its own before it serves Raft again, so it never revives
 * the old cluster, even briefly. Addresses are never taken from an answer: a manager is
 * reached only where this node already knew it.
 */
import type { TLSSocket } from 'node:tls';
import { ApiError, InvalidArgumentError } from '../api/errors.ts';
import { peerIdentity, type NodeTLS } from '../manager/ca/index.ts';
import type { Logger } from '../common/logger.ts';
import type { PeerIdentity } from '../wire/types.ts';
import { httpsJson } from './https-json.ts';
import type { SwarmState } from './swarm-state.ts';

/** The Raft epoch of a swarm that was never forced into a new cluster. */
export const INITIAL_EPOCH = 'initial';

/** A removal notice (`POST /raft-removed`): the new epoch and the epochs it replaces. */
export interface RemovalNotice {
  epoch: string;
  replaces: string[];
}

/** An epoch that replaced this node's, with the manager that said so (where we reached it). */
export interface ReplacingEpoch extends RemovalNotice {
  managers: Record<string, string>;
}

/** This node's epoch, as `GET /raft-epoch` answers it. */
export function epochOf(state: SwarmState): RemovalNotice {
  return { epoch: state.raftEpoch ?? INITIAL_EPOCH, replaces: state.previousEpochs ?? [] };
}

/**
 * Tells managers removed by `--force-new-cluster` that their epoch is over; returns
 * the IDs of those that were told (the others are tried again later).
 */
export async function tellRemovedManagers(state: SwarmState, tls: NodeTLS, logger: Logger): Promise<string[]> {
  const told: string[] = [];
  await Promise.all((state.removedManagers ?? []).map(async (m) => {
    try {
      await httpsJson(m.addr, 'POST', '/raft-removed', {
        tls: tls.clientOptions(),
        body: { epoch: state.raftEpoch, replaces: state.previousEpochs ?? [] },
        timeoutMs: 3000,
      });
      told.push(m.nodeId);
      logger.info('told a removed manager to become a worker', { 'node.id': m.nodeId });
    } catch (err) {
      logger.debug('removed manager not reachable yet', { 'node.id': m.nodeId, error: err });
    }
  }));
  return told;
}

/** Asks the other known managers for their Raft epoch; returns one that replaced ours. */
export async function findReplacingEpoch(state: SwarmState, tls: NodeTLS): Promise<ReplacingEpoch | undefined> {
  const mine = state.raftEpoch ?? INITIAL_EPOCH;
  const others = state.managers.filter((m) => m.nodeId !== state.nodeId);
  const answers = await Promise.all(others.map(async (m) => {
    const a = await httpsJson<RemovalNotice>(m.addr, 'GET', '/raft-epoch', { tls: tls.clientOptions(), timeoutMs: 1500 })
      .catch(() => undefined);
    if (!a || typeof a.epoch !== 'string' || !Array.isArray(a.replaces) || !a.replaces.includes(mine)) return undefined;
    return { epoch: a.epoch, replaces: a.replaces.filter((e) => typeof e === 'string'), managers: { [m.nodeId]: m.addr } };
  }));
  return answers.find((a) => a !== undefined);
}

/**
 * The sender of a removal notice, once its certificate and body are checked: a manager
 * certificate of this swarm and a well-formed notice (403 and 400 otherwise). Whether
 * the sender may end this manager's Raft state is the manager's standing check's.
 */
export function checkRemovalNotice(socket: TLSSocket, body: unknown, clusterId: string): { peer: PeerIdentity; notice: RemovalNotice } {
  const peer = peerIdentity(socket);
  if (!peer || peer.role !== 'manager' || peer.clusterId !== clusterId) throw new ApiError('a manager certificate of this swarm is required', 403);
  const b = body as Partial<RemovalNotice> | undefined;
  if (!b || typeof b.epoch !== 'string' || !Array.isArray(b.replaces) || !b.replaces.every((e) => typeof e === 'string')) {
    throw new InvalidArgumentError('invalid removal notice');
  }
  return { peer, notice: { epoch: b.epoch, replaces: b.replaces } };
}
