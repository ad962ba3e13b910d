/**
 * At most `max` nft sessions of a node keep their `nft -i` running: each costs ~2.5 MB
 * while it runs (nft-session.ts), one per task netns whose VIP changes go as text, so a node
 * with hundreds of such tasks would hold hundreds of them. A session counts as used when an apply
 * went through it; beyond `max`, the least recently used ones are stopped, and their next
 * apply starts nft again (nft's start and first apply, ≈ 10–15 ms of CPU on the project's
 * machine, against ≈ 3 ms warm).
 *
 * Pure bookkeeping: stopping is the session's own `stop()`, called here without waiting.
 *
 *   const cap = new SessionCap(64);
 *   const nft = new NftSession({ netns, spawner, cap });
 */

/** What the cap needs of a session. */
export interface Stoppable {
  stop(): Promise<void>;
}

export class SessionCap {
  /** Sessions with a running nft, least recently used first (a Map keeps insertion order). */
  private readonly recent = new Map<Stoppable, true>();

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`the nft session cap must be a whole number of at least 1, not ${String(max)}`);
  }

  /** Sessions counted as running now. */
  get size(): number {
    return this.recent.size;
  }

  /** `s` just applied through its running nft: it is the most recent; the least recent beyond `max` are stopped. */
  used(s: Stoppable): void {
    this.recent.delete(s);
    this.recent.set(s, true);
    for (const oldest of this.recent.keys()) {
      if (this.recent.size <= this.max) break;
      this.recent.delete(oldest);
      void oldest.stop().catch(() => { /* its next apply starts nft again, or reports why not */ });
    }
  }

  /** `s` has no running nft any more (stopped, closed, died): not counted. */
  forget(s: Stoppable): void {
    this.recent.delete(s);
  }
}
