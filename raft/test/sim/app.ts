/**
 * The application a simulated node runs on top of Raft: a state machine fed committed
 * entries, with snapshots. One instance per node incarnation: a crash throws it away and
 * a restart builds a new one from the last persisted snapshot.
 */
import type { Entry, ReadState } from '../../src/index.ts';

export interface App {
  /** Applies one committed normal entry (the core's empty no-ops included), in log order. */
  apply(entry: Entry): void;
  /**
   * The state as of the last applied entry, serialized deterministically: two nodes that
   * applied the same prefix must produce the same bytes (the simulation checks this).
   */
  snapshot(): Uint8Array;
  /** Replaces the state with a snapshot's data (empty data: the initial state). */
  restore(data: Uint8Array): void;
  /** Read states the node's Ready carried (after it persisted and applied that Ready). */
  onReadStates?(states: ReadState[]): void;
  /** Called after each Ready is fully handled (new entries applied). */
  afterReady?(): void;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * The simulation's own state machine: a running FNV-1a digest over the applied entries'
 * indexes and payloads, plus the count of non-empty entries. Any divergence in what or in
 * which order a node applied shows up as a different snapshot.
 */
export class DigestApp implements App {
  private digest = 0x811c9dc5;
  private count = 0;

  apply(entry: Entry): void {
    let h = Math.imul(this.digest ^ entry.index, 16777619);
    for (const b of entry.data) h = Math.imul(h ^ b, 16777619);
    this.digest = h >>> 0;
    if (entry.data.length > 0) this.count++;
  }

  snapshot(): Uint8Array {
    return enc.encode(JSON.stringify({ digest: this.digest, count: this.count }));
  }

  restore(data: Uint8Array): void {
    if (data.length === 0) {
      this.digest = 0x811c9dc5;
      this.count = 0;
      return;
    }
    const s = JSON.parse(dec.decode(data)) as { digest: number; count: number };
    this.digest = s.digest;
    this.count = s.count;
  }
}
