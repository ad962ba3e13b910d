/**
 * Routes task events to the sessions of the nodes they concern (pure, no I/O): one store
 * subscription for the whole dispatcher instead of one per session. With a watch per
 * session every task event cost one call per connected node (a thousand nodes and
 * 10,000 tasks moving through five states: 50 million calls); here an event costs a map
 * lookup for its node (and its old node), and a commit wakes only the sessions whose
 * tasks it touched.
 *
 * Events only mark task IDs dirty per node; `commit()` hands each touched node its IDs,
 * in the order they were first marked, and forgets them.
 */

/** What the fan-out reads of a task event. */
export interface TaskEventLike {
  object: { ID: string; NodeID?: string };
  old?: { NodeID?: string };
}

/** Told of the task IDs of its node that changed in one commit. */
export type CommitListener = (ids: string[]) => void;

export class AssignmentFanout {
  /** Listeners by node ID (a node may, briefly, have two sessions: the old one closing). */
  private readonly byNode = new Map<string, Set<CommitListener>>();
  /** Task IDs marked since the last commit, by node ID; only nodes with a listener are kept. */
  private dirty = new Map<string, Set<string>>();

  /** Adds a listener for `nodeId`'s tasks; returns its removal. */
  add(nodeId: string, listener: CommitListener): () => void {
    let set = this.byNode.get(nodeId);
    if (!set) this.byNode.set(nodeId, (set = new Set()));
    set.add(listener);
    return () => {
      const s = this.byNode.get(nodeId);
      if (!s?.delete(listener)) return;
      if (s.size === 0) {
        this.byNode.delete(nodeId);
        this.dirty.delete(nodeId);
      }
    };
  }

  /** Marks the event's task dirty for its node and, when it moved, for the node it left. */
  onTaskEvent(e: TaskEventLike): void {
    const id = e.object.ID;
    this.mark(e.object.NodeID, id);
    const oldNode = e.old?.NodeID;
    if (oldNode !== e.object.NodeID) this.mark(oldNode, id);
  }

  private mark(nodeId: string | undefined, id: string): void {
    if (!nodeId || !this.byNode.has(nodeId)) return;
    let ids = this.dirty.get(nodeId);
    if (!ids) this.dirty.set(nodeId, (ids = new Set()));
    ids.add(id);
  }

  /** A commit: each node with marked tasks gets their IDs (every listener of that node), then the marks are cleared. */
  commit(): void {
    if (this.dirty.size === 0) return;
    const dirty = this.dirty;
    this.dirty = new Map();
    for (const [nodeId, ids] of dirty) {
      const list = [...ids];
      for (const l of this.byNode.get(nodeId) ?? []) l(list);
    }
  }

  /** Nodes with at least one listener. */
  get nodes(): number {
    return this.byNode.size;
  }
}
