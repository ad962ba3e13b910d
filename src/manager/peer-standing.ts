/**
 * Who a peer on port 2377 is *now* (pure decision). A certificate proves a node ID, a
 * role and a cluster, but it outlives what the store later decides: a removed node
 * keeps a validly signed certificate, a demoted manager keeps one whose OU still says
 * manager. So every 2377 endpoint asks this module, with what the store and the Raft
 * configuration say today, before it serves a peer:
 *
 * - `member` (dispatcher session, certificate renewal, Raft epoch, CA requests that
 *   present a certificate): any node of this swarm that was not removed and that the
 *   store knows.
 * - `raft` (the `/raft` transport): a manager certificate, not removed, and either a
 *   manager in the store or still in this manager's Raft configuration — a demoted
 *   manager keeps serving Raft until its removal is committed, and no longer. A manager
 *   that has no replicated state yet accepts the managers it was given when it joined.
 * - `removal-notice` (`/raft-removed`): a manager in the store that is a voter of this
 *   manager's own current Raft configuration.
 *
 * Refusals are `ApiError`s: 401 without a certificate of this swarm, 403 otherwise.
 */
import { ApiError } from '../api/errors.ts';
import type { NodeRole } from '../api/types/node.ts';
import type { PeerIdentity } from '../wire/types.ts';

export type StandingEndpoint = 'member' | 'raft' | 'removal-notice';

export interface StandingInput {
  /** The peer's identity from its verified certificate; undefined without one. */
  peer: PeerIdentity | undefined;
  /** This swarm's cluster ID. */
  clusterId: string;
  /** The role this manager's store gives the peer's node; undefined when the store has no such node. */
  storeRole: NodeRole | undefined;
  /** The node was removed from the swarm (a tombstone in the cluster object). */
  removed: boolean;
  /**
   * This manager has no replicated state yet (a manager that just joined) and the peer is one
   * of the managers it was told of when it joined: the leader must be able to reach it.
   */
  bootstrapPeer?: boolean;
  /** This manager's current Raft configuration (needed for `raft` and `removal-notice`). */
  conf?: { voters: readonly string[]; learners: readonly string[]; votersOutgoing: readonly string[] };
}

/** Returns the peer when it may use `endpoint` now; throws a 401/403 `ApiError` otherwise. */
export function checkStanding(endpoint: StandingEndpoint, input: StandingInput): PeerIdentity {
  const { peer } = input;
  if (!peer || peer.clusterId !== input.clusterId) throw new ApiError('a certificate of this swarm is required', 401);
  if (input.removed) throw new ApiError(`node ${peer.nodeId} was removed from the swarm`, 403);
  const conf = input.conf ?? { voters: [], learners: [], votersOutgoing: [] };
  const member = conf.voters.includes(peer.nodeId) || conf.learners.includes(peer.nodeId) || conf.votersOutgoing.includes(peer.nodeId);
  if (endpoint === 'member') {
    if (input.storeRole === undefined) throw new ApiError(`node ${peer.nodeId} is not a node of this swarm (yet)`, 403);
    return peer;
  }
  if (peer.role !== 'manager') throw new ApiError(`node ${peer.nodeId} is a worker: this endpoint is for managers only`, 403);
  if (endpoint === 'raft') {
    if (input.storeRole === 'manager' || member || (input.storeRole === undefined && input.bootstrapPeer)) return peer;
    throw new ApiError(`raft: node ${peer.nodeId} is no longer a manager`, 403);
  }
  // A removal notice makes this manager drop its Raft state: only a voter it follows now may send one.
  if (input.storeRole !== 'manager' || !conf.voters.includes(peer.nodeId)) {
    throw new ApiError(`node ${peer.nodeId} is not a voting manager of this manager's Raft configuration`, 403);
  }
  return peer;
}

/** Whether the certificate `cn` may send Raft messages as node `from`: only as itself. */
export function raftSenderMatches(cn: string | undefined, from: string): boolean {
  return typeof cn === 'string' && cn.length > 0 && cn === from;
}
