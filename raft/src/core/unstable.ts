import { assert } from '../errors.ts';
import type { Entry, Snapshot } from '../types.ts';

/**
 * The tail of the log not yet persisted (etcd's unstable): entries from `offset` on, and
 * possibly an incoming snapshot. The driver persists them from `Ready` and then the core
 * calls `stableTo`/`stableSnapTo`.
 *
 * Invariant: when `snapshot` is set, `offset === snapshot.metadata.index + 1`.
 */
export class Unstable {
  snapshot: Snapshot | undefined;
  entries: Entry[] = [];
  /**
   * Entries below this index were handed to the driver in a Ready and are being written
   * (etcd's `offsetInProgress`); the next Ready carries only the ones from here on.
   * Invariant: offset ≤ offsetInProgress ≤ offset + entries.length.
   */
  offsetInProgress: number;
  /** The snapshot was handed to the driver and is being written. */
  snapshotInProgress = false;

  constructor(public offset: number) {
    this.offsetInProgress = offset;
  }

  /** Entries not yet handed to the driver. */
  nextEntries(): Entry[] {
    const k = this.offsetInProgress - this.offset;
    return k >= this.entries.length ? [] : this.entries.slice(k);
  }

  hasNextEntries(): boolean {
    return this.offsetInProgress - this.offset < this.entries.length;
  }

  /** The snapshot, if not yet handed to the driver. */
  nextSnapshot(): Snapshot | undefined {
    return this.snapshotInProgress ? undefined : this.snapshot;
  }

  /** Everything unstable was handed to the driver (a Ready was taken). */
  acceptInProgress(): void {
    this.offsetInProgress = this.offset + this.entries.length;
    if (this.snapshot) this.snapshotInProgress = true;
  }

  /** The first index known from a pending snapshot, if any. */
  maybeFirstIndex(): number | undefined {
    return this.snapshot ? this.snapshot.metadata.index + 1 : undefined;
  }

  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot?.metadata.index;
  }

  maybeTerm(i: number): number | undefined {
    if (i < this.offset) {
      if (this.snapshot && this.snapshot.metadata.index === i) return this.snapshot.metadata.term;
      return undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || i > last) return undefined;
    return this.entries[i - this.offset].term;
  }

  /** Entries up to `(i, t)` were persisted: drop them (unless the tail was since replaced). */
  stableTo(i: number, t: number): void {
    const gt = this.maybeTerm(i);
    if (gt === undefined || gt !== t || i < this.offset) return;
    this.entries = this.entries.slice(i + 1 - this.offset);
    this.offset = i + 1;
    this.offsetInProgress = Math.max(this.offsetInProgress, this.offset);
  }

  stableSnapTo(i: number): void {
    if (this.snapshot && this.snapshot.metadata.index === i) {
      this.snapshot = undefined;
      this.snapshotInProgress = false;
    }
  }

  restore(s: Snapshot): void {
    this.offset = s.metadata.index + 1;
    this.offsetInProgress = this.offset;
    this.entries = [];
    this.snapshot = s;
    this.snapshotInProgress = false;
  }

  /** Appends `ents`, replacing whatever unstable entries they conflict with. */
  truncateAndAppend(ents: Entry[]): void {
    const after = ents[0].index;
    if (after === this.offset + this.entries.length) {
      this.entries = this.entries.concat(ents);
    } else if (after <= this.offset) {
      // Replaces the whole unstable tail (and tells the driver to overwrite stored entries).
      this.offset = after;
      this.offsetInProgress = after;
      this.entries = [...ents];
    } else {
      // Entries from `after` on are new, even where a write of the old ones is in flight.
      this.entries = this.entries.slice(0, after - this.offset).concat(ents);
      this.offsetInProgress = Math.min(this.offsetInProgress, after);
    }
  }

  /** Entries in [lo, hi), which must lie within the unstable tail. */
  slice(lo: number, hi: number): Entry[] {
    assert(lo <= hi && lo >= this.offset && hi <= this.offset + this.entries.length, `unstable.slice[${lo},${hi}) out of bound [${this.offset},${this.offset + this.entries.length}]`);
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}
