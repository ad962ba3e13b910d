/**
 * What a transaction is on the wire: a list of actions, and the `Proposer` that
 * replicates it. This is the boundary between the store and Raft (as in SwarmKit,
 * whose store hides replication behind a proposer too).
 */
import type { Kind, StoreObjects } from './objects.ts';

/**
 * One change of a transaction. Actions are plain data (they travel in the Raft log).
 * - `create`: `object` is the full new object; `CreatedAt`/`UpdatedAt` were stamped by
 *   the proposer, `Version.Index` is set to the log index when applied.
 * - `update`: `object` is the full new object; `version` is the `Version.Index` the
 *   writer read: the update applies only if the stored object still has that version.
 * - `delete`: `object` carries at least the `ID`; `version`, when given, is checked as
 *   for updates.
 */
export type StoreAction = {
  [K in Kind]:
    | { action: 'create'; kind: K; object: StoreObjects[K] }
    | { action: 'update'; kind: K; object: StoreObjects[K]; version: number }
    | { action: 'delete'; kind: K; object: StoreObjects[K]; version?: number };
}[Kind];

/**
 * Replicates a transaction. `propose` resolves once the actions are committed at `index`
 * **and** have been passed to `applyCommitted(actions, index)` of the store that
 * proposed them; if `applyCommitted` threw (a conflict found at apply time, identical
 * on every manager), `propose` rejects with that error. It rejects with a retryable
 * error (`UnavailableError`) when the proposal may not have been committed (no leader,
 * no quorum, leader changed). Proposals may be in flight concurrently; their entries
 * are applied in log order.
 */
export interface Proposer {
  propose(actions: readonly StoreAction[]): Promise<{ index: number }>;
  /**
   * Optional read barrier: resolves once this replica has applied everything committed
   * before the call; rejects (`UnavailableError`) without a leader or quorum. Used to
   * confirm a refusal built from this replica's state, which may be stale.
   */
  barrier?(): Promise<void>;
}

/** The side of the store a proposer drives. */
export interface CommitTarget {
  /**
   * Applies a committed transaction at `index` (strictly greater than the last applied
   * index). Throws the `ApiError` that rejects the transaction, deterministically,
   * having changed nothing but the applied index.
   */
  applyCommitted(actions: readonly StoreAction[], index: number): { index: number };
  /** The index of the last applied transaction (0 for an empty store). */
  readonly lastIndex: number;
}
