/**
 * A proposer without replication: each proposal is "committed" at the next index and
 * applied at once. For tests and for a single manager that runs without Raft.
 */
import type { CommitTarget, Proposer, StoreAction } from './actions.ts';

/** Applies proposals immediately at `lastIndex + 1`, in call order. */
export class LocalProposer implements Proposer {
  constructor(private readonly target: CommitTarget) {}

  /**
   * Resolves with the index the actions were applied at; rejects with the apply error.
   * Applies one microtask later (never inside the caller's stack, so a watch callback
   * that writes does not re-enter the store), still in call order.
   */
  async propose(actions: readonly StoreAction[]): Promise<{ index: number }> {
    await null;
    return this.target.applyCommitted(actions, this.target.lastIndex + 1);
  }
}
