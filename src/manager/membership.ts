/**
 * Raft membership follows node roles (pure decision). The leader compares the managers
 * the store knows (nodes whose spec role is manager) with Raft's configuration and
 * returns the one change to make next: a new manager joins as a learner, becomes a
 * voter once it has caught up, and a demoted or removed manager leaves the
 * configuration. One change at a time, as Raft's single-server changes require.
 */
import type { ConfState } from 'raft-ts';

export interface ManagerMember {
  nodeId: string;
  /** Raft transport address, IP:PORT. */
  addr: string;
}

export type MembershipAction =
  | { kind: 'add-learner'; nodeId: string; addr: string }
  | { kind: 'promote'; nodeId: string }
  | { kind: 'remove'; nodeId: string }
  | { kind: 'transfer-leadership'; to: string };

/** A learner within this many entries of the leader's last index counts as caught up. */
export const CATCH_UP_SLACK = 10;

export function nextMembershipAction(input: {
  selfId: string;
  managers: ManagerMember[];
  conf: ConfState;
  /** The leader's view of each member's replicated index. */
  match: Map<string, number>;
  /** Members the leader heard from within the last election timeout. */
  active: Set<string>;
  lastIndex: number;
}): MembershipAction | undefined {
  const { selfId, managers, conf, match, active, lastIndex } = input;
  const wanted = new Map(managers.map((m) => [m.nodeId, m]));
  const voters = new Set([...conf.voters, ...conf.votersOutgoing]);
  const learners = new Set(conf.learners);
  // Removals first: a demoted manager must not keep its vote.
  for (const id of [...voters, ...learners].sort()) {
    if (wanted.has(id)) continue;
    if (id === selfId) {
      // The leader never removes itself: it hands leadership to a caught-up voter first.
      const successor = [...voters].filter((v) => v !== selfId && wanted.has(v)).sort((a, b) => (match.get(b) ?? 0) - (match.get(a) ?? 0))[0];
      if (successor) return { kind: 'transfer-leadership', to: successor };
      continue;
    }
    // SwarmKit's quorum safeguard: a removal that would leave no reachable quorum waits.
    if (!canRemoveVoter({ conf, nodeId: id, selfId, active })) continue;
    return { kind: 'remove', nodeId: id };
  }
  for (const m of [...wanted.values()].sort((a, b) => a.nodeId.localeCompare(b.nodeId))) {
    if (!voters.has(m.nodeId) && !learners.has(m.nodeId)) return { kind: 'add-learner', nodeId: m.nodeId, addr: m.addr };
  }
  for (const id of [...learners].sort()) {
    // Promoting a learner that is not there would raise the quorum without adding a vote:
    // it must be alive and have replicated nearly all of the log first.
    const m = match.get(id) ?? 0;
    if (wanted.has(id) && active.has(id) && m > 0 && m + CATCH_UP_SLACK >= lastIndex) return { kind: 'promote', nodeId: id };
  }
  return undefined;
}

/**
 * Whether removing `nodeId` leaves a reachable quorum of the voters that stay (SwarmKit's
 * `CanRemoveMember`): `selfId` counts as reachable, the others when they are in `active`.
 * A node that is no voter can always be removed.
 */
export function canRemoveVoter(input: { conf: ConfState; nodeId: string; selfId: string; active: ReadonlySet<string> }): boolean {
  const { conf, nodeId, selfId, active } = input;
  const voters = [...new Set([...conf.voters, ...conf.votersOutgoing])];
  if (!voters.includes(nodeId)) return true;
  const staying = voters.filter((v) => v !== nodeId);
  if (staying.length === 0) return false;
  const reachable = staying.filter((v) => v === selfId || active.has(v)).length;
  return reachable >= Math.floor(staying.length / 2) + 1;
}
