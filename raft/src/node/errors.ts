/**
 * Errors of the driver (`RaftNode`). The core's own (`ProposalDroppedError`,
 * `NotLeaderError`) pass through unchanged.
 */

/**
 * A proposal, read or transfer was overtaken by a change of leader (or by a snapshot) before
 * its outcome was known here. `definite` is true when the entry is known never to commit
 * (another entry took its index), false when it might still have committed (a forwarded
 * proposal the new leader may hold, or an entry covered by a received snapshot): retry only
 * if the command is idempotent or carries its own de-duplication.
 */
export class LeaderChangedError extends Error {
  override name = 'LeaderChangedError';
  readonly retryable = true;
  constructor(readonly definite: boolean, what = 'proposal', options?: { cause?: unknown }) {
    super(`raft: ${what} lost to a leader change${definite ? '' : ' (outcome unknown)'}`, options);
  }
}

/**
 * A request waited longer than its timeout (no leader answered, or its entry sat in the log
 * without committing). Retryable; `outcomeUnknown` when the entry was in the log and may
 * still commit (retry only an idempotent command).
 */
export class RequestTimeoutError extends Error {
  override name = 'RequestTimeoutError';
  readonly retryable = true;
  constructor(what: string, readonly outcomeUnknown = false) {
    super(`raft: ${what} timed out${outcomeUnknown ? ' in the log (outcome unknown)' : ''}`);
  }
}

/** The node was stopped (or failed) before the request completed. Not retryable on this node. */
export class NodeStoppedError extends Error {
  override name = 'NodeStoppedError';
  readonly retryable = false;
  constructor(options?: { cause?: unknown }) {
    super('raft: node stopped', options);
  }
}
