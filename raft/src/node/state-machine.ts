import type { Entry } from '../types.ts';

/**
 * The application the log drives. The driver calls these one at a time, in log order,
 * never concurrently and never re-entrantly (from its Ready loop, or from a message handler
 * when a commit arrives while the loop waits for a write).
 *
 * Contract: `apply` is deterministic (every member applies the same entries in the same
 * order and must reach the same state); it sees only normal entries with a payload
 * (the driver strips its own envelope from `data`; leader no-ops and membership changes
 * are not passed). Its return value is handed to the proposer on this node; a throw is
 * handed to the proposer as the rejection and does not stop the node (so it too must be
 * deterministic). `snapshot` captures the state as of the last applied entry; `restore`
 * replaces the whole state with a snapshot's (an empty `data` means the empty state).
 */
export interface StateMachine {
  apply(entry: Entry): unknown;
  snapshot(): Uint8Array;
  restore(data: Uint8Array): void;
}
