import type { NodeId } from './types.ts';

/**
 * A proposal (or conf change) was not accepted into the log: there is no known leader, a
 * leadership transfer is in progress, the uncommitted tail is over its size limit, or (for a
 * conf change) another one is still pending. Nothing was appended; the caller may retry later.
 */
export class ProposalDroppedError extends Error {
  override name = 'ProposalDroppedError';
  readonly retryable = true;
  constructor(reason = 'proposal dropped', options?: { cause?: unknown }) {
    super(`raft: ${reason}`, options);
  }
}

/**
 * This node is not the leader and proposal forwarding is disabled (`disableProposalForwarding`).
 * `leader` names the node the caller should retry against.
 */
export class NotLeaderError extends Error {
  override name = 'NotLeaderError';
  readonly retryable = true;
  constructor(readonly leader: NodeId, options?: { cause?: unknown }) {
    super(`raft: not the leader (leader is ${leader})`, options);
  }
}

/** A snapshot older than the one already held was offered to storage. */
export class SnapshotOutOfDateError extends Error {
  override name = 'SnapshotOutOfDateError';
  constructor(index: number, current: number) {
    super(`raft: snapshot at index ${index} is older than the current one at ${current}`);
  }
}

/** A broken invariant inside raft-ts: a bug (ours or the driver's), never an expected failure. */
export class RaftAssertionError extends Error {
  override name = 'RaftAssertionError';
  constructor(message: string) {
    super(`raft: assertion failed: ${message}`);
  }
}

/** Throws `RaftAssertionError` unless `cond` holds. */
export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new RaftAssertionError(message);
}

/** A membership change that cannot be applied to the current configuration. */
export class ConfChangeError extends Error {
  override name = 'ConfChangeError';
  readonly retryable = false;
  constructor(reason: string) {
    super(`raft: invalid conf change: ${reason}`);
  }
}
