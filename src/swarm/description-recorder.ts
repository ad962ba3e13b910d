/**
 * Keeps a node's `Description` as the node last stated it. A node states it when it joins
 * and again in the first heartbeat of every session, so a node restarted on a new release
 * (a rolling upgrade of Shoal) shows its new version in `node ls` and its store schema
 * reaches the leader's migration decision. `TLSInfo` is the leader's own record (see
 * `ca-session.ts`) and is kept. One write at a time; a lost write is retried at the next
 * heartbeat, and once stored the description is not compared again on that session.
 */
import type { MemoryStore } from '../store/index.ts';
import type { NodeDescription } from '../api/types/node.ts';
import { canonicalJson } from '../store/codec.ts';
import { cleanDescription, validateDescription } from './join-request.ts';

export class DescriptionRecorder {
  private writing = false;

  constructor(private readonly store: MemoryStore) {}

  /**
   * Checks a description a node sent (throws `InvalidArgumentError` naming the bad field)
   * and returns it cleaned to the fields a node may state about itself.
   */
  static check(description: unknown): NodeDescription {
    validateDescription(description);
    return cleanDescription(description as NodeDescription);
  }

  /**
   * Writes the cleaned description when it differs from the stored one. Resolves true once
   * the store holds it (written now or already there), false when it must be tried again
   * (a write in flight, a lost race, no quorum, or the node not yet stored).
   */
  async record(nodeId: string, description: NodeDescription): Promise<boolean> {
    if (this.writing) return false;
    const stored = this.store.view((tx) => tx.get('node', nodeId))?.Description;
    if (!stored) return false;
    if (same(stored, description)) return true;
    this.writing = true;
    try {
      await this.store.update((tx) => {
        const n = tx.get('node', nodeId);
        if (!n || same(n.Description, description)) return;
        const next = structuredClone(n);
        next.Description = { ...structuredClone(description), ...(n.Description.TLSInfo ? { TLSInfo: { ...n.Description.TLSInfo } } : {}) };
        tx.update('node', next);
      });
      return true;
    } catch {
      // Lost a race or no quorum: the next heartbeat tries again.
      return false;
    } finally {
      this.writing = false;
    }
  }
}

function same(stored: NodeDescription, stated: NodeDescription): boolean {
  const { TLSInfo: _, ...rest } = stored;
  return canonicalJson(rest) === canonicalJson(stated);
}
