/**
 * Disaster recovery (Docker's `swarm init --force-new-cluster`, etcd's
 * `--force-new-cluster`): turns what one surviving member has on disk into a
 * one-member cluster. Every other member is removed by conf-change entries appended
 * after the log and marked committed, so a restart applies them and the node elects
 * itself. Entries past the old commit index are kept and count as committed — the
 * survivor's log is the truth from now on, as in etcd.
 */
import { ConfChangeType, EntryType, type ConfChange, type ConfState, type Entry, type NodeId } from '../types.ts';
import type { DurableStorage } from '../storage.ts';
import { decodeConfChange, encodeConfChange } from '../confchange/changer.ts';

/** The membership after the snapshot and every conf change in the log (joint states flattened). */
export function membershipOf(storage: DurableStorage): { voters: Set<NodeId>; learners: Set<NodeId> } {
  const cs: ConfState = storage.initialState().confState;
  const voters = new Set([...cs.voters, ...cs.votersOutgoing, ...cs.learnersNext]);
  const learners = new Set(cs.learners.filter((l) => !voters.has(l)));
  const first = storage.firstIndex();
  const last = storage.lastIndex();
  if (last >= first) {
    for (const e of storage.entries(first, last + 1, Number.MAX_SAFE_INTEGER)) {
      if (e.type !== EntryType.ConfChange) continue;
      let cc: ConfChange;
      try {
        cc = decodeConfChange(e.data);
      } catch {
        continue;
      }
      for (const c of cc.changes) {
        if (c.type === ConfChangeType.AddNode) {
          voters.add(c.nodeId);
          learners.delete(c.nodeId);
        } else if (c.type === ConfChangeType.AddLearner) {
          if (!voters.has(c.nodeId)) learners.add(c.nodeId);
        } else {
          voters.delete(c.nodeId);
          learners.delete(c.nodeId);
        }
      }
    }
  }
  return { voters, learners };
}

/**
 * Rewrites `storage` so that `self` is the only voter. Returns the members removed.
 * Call it before a `RaftNode` is started on the storage.
 */
export async function forceNewCluster(storage: DurableStorage, self: NodeId): Promise<{ removed: NodeId[] }> {
  const { voters, learners } = membershipOf(storage);
  const removed = [...voters, ...learners].filter((id) => id !== self).sort();
  const changes: ConfChange[] = removed.map((nodeId) => ({ changes: [{ type: ConfChangeType.RemoveNode, nodeId }] }));
  if (!voters.has(self)) changes.unshift({ changes: [{ type: ConfChangeType.AddNode, nodeId: self }] });
  const { hardState } = storage.initialState();
  const last = storage.lastIndex();
  const term = Math.max(hardState.term, storage.term(last));
  const entries: Entry[] = changes.map((cc, i) => ({ term, index: last + 1 + i, type: EntryType.ConfChange, data: encodeConfChange(cc) }));
  const commit = last + entries.length;
  await storage.save({ entries, hardState: { term, vote: self, commit }, sync: true });
  return { removed };
}
