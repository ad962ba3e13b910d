/**
 * How the dispatcher cuts the nodes' queued task status reports into store transactions.
 * Pure: no I/O, no time.
 *
 * A transaction is one Raft entry that every manager decodes and applies in one go, and
 * that any other write to one of its tasks in between turns into a conflict of the whole
 * batch. With 10,000 tasks starting at once, one unbounded batch was thousands of tasks:
 * seconds of the leader's event loop (heartbeats unsent, its lease lost) and a retry of
 * everything on the first conflict. Batches of at most `STATUS_BATCH_MAX` keep each
 * apply short and each conflict small.
 */

/** Most task status reports written in one store transaction. */
export const STATUS_BATCH_MAX = 500;

/**
 * Takes up to `max` reports from `pending` (the oldest first: a Map keeps first-insertion
 * order) and removes them from it; returns them in that order.
 */
export function takeStatusBatch<T>(pending: Map<string, T>, max = STATUS_BATCH_MAX): T[] {
  if (!(max >= 1)) throw new Error(`dispatcher: status batch size must be at least 1, got ${max}`);
  const out: T[] = [];
  for (const [id, u] of pending) {
    if (out.length >= max) break;
    out.push(u);
    pending.delete(id);
  }
  return out;
}
