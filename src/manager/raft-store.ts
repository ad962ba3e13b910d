/**
 * The seam between the store and Raft: a `Proposer` that replicates the store's
 * transactions through a `RaftNode`, and the `StateMachine` that applies committed
 * transactions to the store on every manager, in log order.
 *
 * Errors: a transaction refused at apply time (a conflict, the same on every manager)
 * rejects with its `ApiError`; anything that means "maybe not committed" (no leader,
 * lost quorum, leader changed, timed out) becomes a retryable 503 `UnavailableError`
 * with a message a user can act on.
 */
import {
  LeaderChangedError, NodeStoppedError, NotLeaderError, ProposalDroppedError, RequestTimeoutError,
  type Entry, type RaftNode, type StateMachine,
} from 'raft-ts';
import { ApiError, UnavailableError } from '../api/errors.ts';
import { decodeActions, encodeActions, type FieldCipher, type MemoryStore, type Proposer, type StoreAction } from '../store/index.ts';

export const NO_QUORUM_MESSAGE =
  'rpc error: code = Unknown desc = The swarm does not have a leader. It\'s possible that too few managers are online. Make sure more than half of the managers are online.';

/** Applies committed store transactions; the store's snapshot is the Raft snapshot. */
export class StoreStateMachine implements StateMachine {
  constructor(
    private readonly store: MemoryStore,
    private readonly cipher?: FieldCipher,
  ) {}

  apply(entry: Entry): unknown {
    // A throw here rejects the proposer with the store's error; the node carries on.
    return this.store.applyCommitted(decodeActions(entry.data, this.cipher), entry.index);
  }

  snapshot(): Uint8Array {
    return this.store.snapshot();
  }

  restore(data: Uint8Array): void {
    if (data.length > 0) this.store.restore(data);
  }
}

/** Replicates store transactions through Raft. */
export class RaftProposer implements Proposer {
  constructor(
    private readonly raft: () => RaftNode,
    private readonly cipher?: FieldCipher,
  ) {}

  async propose(actions: readonly StoreAction[]): Promise<{ index: number }> {
    try {
      const { index } = await this.raft().propose(encodeActions(actions, this.cipher));
      return { index };
    } catch (err) {
      throw toApiError(err);
    }
  }

  /** A read barrier through the leader (see `Proposer.barrier`). */
  async barrier(): Promise<void> {
    try {
      await this.raft().readIndex();
    } catch (err) {
      throw toApiError(err);
    }
  }
}

/** Maps Raft's errors to the API's; store errors (already ApiErrors) pass through. */
export function toApiError(err: unknown): unknown {
  if (err instanceof ApiError) return err;
  if (err instanceof ProposalDroppedError || err instanceof NotLeaderError) return new UnavailableError(NO_QUORUM_MESSAGE, { cause: err });
  if (err instanceof LeaderChangedError) return new UnavailableError('the swarm leader changed while the request was in flight; retry it', { cause: err });
  if (err instanceof RequestTimeoutError) return new UnavailableError(`${NO_QUORUM_MESSAGE} (request timed out)`, { cause: err });
  if (err instanceof NodeStoppedError) return new UnavailableError('this node is leaving the swarm or shutting down', { cause: err });
  return err;
}
