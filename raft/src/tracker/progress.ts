import { Inflights } from './inflights.ts';

/** How the leader replicates to one follower. */
export type ProgressStateType = 'probe' | 'replicate' | 'snapshot';

/**
 * The leader's view of one follower (etcd's tracker.Progress).
 *
 * - probe: the leader does not know where the follower's log matches; it sends at most one
 *   App per heartbeat interval and waits for the answer (`msgAppFlowPaused`).
 * - replicate: the log matches up to `match`; the leader streams entries optimistically
 *   (`next` runs ahead of `match`), bounded by the `inflights` window.
 * - snapshot: the follower needs entries the leader has compacted; a snapshot at
 *   `pendingSnapshot` is on its way and nothing else is sent until it is reported.
 *
 * Invariant: `match < next`.
 */
export class PeerProgress {
  match = 0;
  next: number;
  state: ProgressStateType = 'probe';
  /** In snapshot state: the index of the snapshot sent. */
  pendingSnapshot = 0;
  /** Whether the follower was heard from since the last CheckQuorum round. */
  recentActive = false;
  /** The commit index last sent to the follower (in an App or heartbeat). */
  sentCommit = 0;
  /** Set when no further App should be sent until an answer or heartbeat response arrives. */
  msgAppFlowPaused = false;
  isLearner: boolean;
  inflights: Inflights;

  constructor(opts: { next: number; match?: number; isLearner?: boolean; maxInflight: number; maxInflightBytes?: number }) {
    this.next = opts.next;
    this.match = opts.match ?? 0;
    this.isLearner = opts.isLearner ?? false;
    this.inflights = new Inflights(opts.maxInflight, opts.maxInflightBytes ?? 0);
  }

  private resetState(state: ProgressStateType): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  /** Back to probing from `match + 1` (or just past a snapshot that was sent). */
  becomeProbe(): void {
    if (this.state === 'snapshot') {
      const pending = this.pendingSnapshot;
      this.resetState('probe');
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState('probe');
      this.next = this.match + 1;
    }
    this.rollBackSentCommit();
  }

  /**
   * `next` went back: a commit index sent past `next - 1` may never have reached the follower
   * with the entries it needs, so it no longer counts as sent (etcd does the same); else
   * `canBumpCommit` would hold back the commit the follower still lacks.
   */
  private rollBackSentCommit(): void {
    this.sentCommit = Math.min(this.sentCommit, this.next - 1);
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState('snapshot');
    this.pendingSnapshot = snapshotIndex;
    // A follower that takes the snapshot (or already has it) commits at least its index.
    this.sentCommit = Math.max(this.sentCommit, snapshotIndex);
  }

  /**
   * Records that an App with `entries` entries ending at `lastIndex` (and `bytes` of payload)
   * was sent: in replicate state `next` moves on optimistically and the message joins the
   * window; in probe state the flow pauses until the follower answers.
   */
  sentEntries(entries: number, lastIndex: number, bytes: number): void {
    if (this.state === 'replicate') {
      if (entries > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex, bytes);
      }
      this.msgAppFlowPaused = this.inflights.full();
    } else if (this.state === 'probe') {
      this.msgAppFlowPaused = true;
    }
  }

  /** An acknowledgement up to `n`: returns whether `match` grew. Stale acks are ignored. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.msgAppFlowPaused = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /**
   * A rejection of the App whose previous index was `rejected`; `matchHint` is the largest
   * index that may still match (from the follower's hint). Returns false when the rejection is
   * stale (an older message) and nothing changed.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      this.rollBackSentCommit();
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1, 1);
    this.rollBackSentCommit();
    this.msgAppFlowPaused = false;
    return true;
  }

  /**
   * Whether sending commit index `index` may advance the follower's commit: only when we have
   * not yet sent one that takes it all the way to `next - 1` (etcd's CanBumpCommit).
   */
  canBumpCommit(index: number): boolean {
    return index > this.sentCommit && this.sentCommit < this.next - 1;
  }

  /** Whether the leader should hold back Apps to this follower right now. */
  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
      case 'replicate':
        return this.msgAppFlowPaused;
      case 'snapshot':
        return true;
    }
  }

  toString(): string {
    let s = `${this.state} match=${this.match} next=${this.next}`;
    if (this.isLearner) s += ' learner';
    if (this.isPaused()) s += ' paused';
    if (this.pendingSnapshot > 0) s += ` pendingSnap=${this.pendingSnapshot}`;
    if (!this.recentActive) s += ' inactive';
    if (this.inflights.count > 0) s += ` inflight=${this.inflights.count}`;
    return s;
  }
}

/** A copy of `pr` that shares nothing with it (the changer works on copies). */
export function cloneProgress(pr: PeerProgress): PeerProgress {
  const c = new PeerProgress({
    next: pr.next,
    match: pr.match,
    isLearner: pr.isLearner,
    maxInflight: pr.inflights.capacity,
    maxInflightBytes: pr.inflights.maxBytes,
  });
  c.state = pr.state;
  c.pendingSnapshot = pr.pendingSnapshot;
  c.recentActive = pr.recentActive;
  c.msgAppFlowPaused = pr.msgAppFlowPaused;
  c.sentCommit = pr.sentCommit;
  c.inflights = pr.inflights.clone();
  return c;
}
