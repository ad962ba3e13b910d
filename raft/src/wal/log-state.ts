/**
 * The state the WAL describes, held in memory: hard state, the log after its compaction
 * point, and the snapshots on record. Replay (`segment-reader.ts`) and the running storage
 * (`disk-storage.ts`) drive the same methods, so a restarted node rebuilds exactly the state
 * it had: every mutation here has one WAL record, applied the same way both times.
 *
 * Methods check their preconditions and throw before changing anything.
 */
import { CompactedError, UnavailableError } from '../storage.ts';
import { SnapshotOutOfDateError, assert } from '../errors.ts';
import type { Entry, HardState } from '../types.ts';
import type { SnapshotRef } from './codec.ts';

/** How many snapshots (files and records) are kept: the current one and one to fall back to. */
export const KEEP_SNAPSHOTS = 2;

/** The hard state, log and snapshot references a WAL describes (see the file comment). */
export class LogState {
  hardState: HardState = { term: 0, vote: '', commit: 0 };
  /**
   * The compaction point: entries at or below `base.index` are gone, `base.term` is the term
   * of the entry at `base.index` (so `term(base.index)` still answers). Invariant:
   * `base.index` ≤ the newest snapshot's index (or 0 without one).
   */
  base: SnapshotRef = { index: 0, term: 0 };
  /** Invariant: `entries[k].index === base.index + 1 + k`; terms never decrease. */
  entries: Entry[] = [];
  /** Snapshots on record, oldest first; the last is the current one. At most KEEP_SNAPSHOTS. */
  snapshots: SnapshotRef[] = [];

  lastIndex(): number {
    return this.base.index + this.entries.length;
  }

  firstIndex(): number {
    return this.base.index + 1;
  }

  term(i: number): number {
    if (i < this.base.index) throw new CompactedError(i);
    if (i > this.lastIndex()) throw new UnavailableError(i);
    return i === this.base.index ? this.base.term : this.entries[i - this.base.index - 1].term;
  }

  /** Entries in [lo, hi), no size limit. */
  slice(lo: number, hi: number): Entry[] {
    if (lo <= this.base.index) throw new CompactedError(lo);
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1);
    return this.entries.slice(lo - this.base.index - 1, hi - this.base.index - 1);
  }

  currentSnapshot(): SnapshotRef {
    return this.snapshots.length > 0 ? this.snapshots[this.snapshots.length - 1] : { index: 0, term: 0 };
  }

  /**
   * The part of `entries` (contiguous) that `append` would store: entries at or below the
   * compaction point are dropped. Throws if they would leave a gap after the last entry.
   * `at` checks against another position than the current one (after a pending snapshot).
   */
  checkAppend(entries: Entry[], at: { base: number; last: number } = { base: this.base.index, last: this.lastIndex() }): Entry[] {
    if (entries.length === 0) return entries;
    for (let k = 1; k < entries.length; k++) {
      assert(entries[k].index === entries[0].index + k, `entries not contiguous at ${entries[k].index}`);
    }
    const first = entries[0].index;
    if (first + entries.length - 1 <= at.base) return [];
    const kept = first <= at.base ? entries.slice(at.base + 1 - first) : entries;
    assert(kept[0].index <= at.last + 1, `missing log entry: last ${at.last}, append at ${kept[0].index}`);
    return kept;
  }

  /** Appends entries already passed through `checkAppend`; a stored index is replaced with its successors. */
  append(kept: Entry[]): void {
    if (kept.length === 0) return;
    const at = kept[0].index - this.base.index - 1;
    if (at < this.entries.length) this.entries.length = at;
    for (const e of kept) this.entries.push(e);
  }

  /** A snapshot received from the leader: throws unless it is newer than the current one. */
  checkReceivedSnapshot(ref: SnapshotRef): void {
    const cur = this.currentSnapshot();
    if (ref.index <= cur.index && cur.index > 0) throw new SnapshotOutOfDateError(ref.index, cur.index);
  }

  /** Whether the log holds the snapshot's last entry (same index and term), so it can be kept. */
  matchesSnapshot(ref: SnapshotRef): boolean {
    return ref.index >= this.base.index && ref.index <= this.lastIndex() && this.term(ref.index) === ref.term;
  }

  /**
   * Makes a received snapshot current. With `reset` the whole log is discarded and restarts at
   * the snapshot; without, the log (which matched it) is compacted up to it. The caller decides
   * with `matchesSnapshot` and records the decision, so replay repeats it even when the entries
   * it was based on are in deleted segments.
   */
  applyReceivedSnapshot(ref: SnapshotRef, reset: boolean): void {
    if (reset) {
      this.entries = [];
      this.base = { index: ref.index, term: ref.term };
    } else {
      this.compact(ref);
    }
    this.recordSnapshot(ref);
  }

  /** The reference for a snapshot created locally at `index` (which must be in the log). */
  checkCreateSnapshot(index: number): SnapshotRef {
    const cur = this.currentSnapshot();
    if (index <= cur.index) throw new SnapshotOutOfDateError(index, cur.index);
    assert(index <= this.lastIndex(), `snapshot ${index} is past the last index ${this.lastIndex()}`);
    return { index, term: this.term(index) };
  }

  /** Adds a snapshot to the record (idempotent: replay sees segment headers repeat them). */
  recordSnapshot(ref: SnapshotRef): void {
    const known = this.snapshots.find((s) => s.index === ref.index);
    if (known) {
      assert(known.term === ref.term, `snapshot ${ref.index} recorded with terms ${known.term} and ${ref.term}`);
      return;
    }
    this.snapshots.push({ index: ref.index, term: ref.term });
    this.snapshots.sort((a, b) => a.index - b.index);
    if (this.snapshots.length > KEEP_SNAPSHOTS) this.snapshots.splice(0, this.snapshots.length - KEEP_SNAPSHOTS);
  }

  /** The compaction reference for `index`; throws `CompactedError` at or below the current point. */
  checkCompact(index: number): SnapshotRef {
    if (index <= this.base.index) throw new CompactedError(index);
    assert(index <= this.lastIndex(), `compact ${index} is past the last index ${this.lastIndex()}`);
    const snap = this.currentSnapshot().index;
    assert(index <= snap, `compact ${index} is past the snapshot index ${snap}`);
    return { index, term: this.term(index) };
  }

  /** Discards entries up to `ref.index`; a no-op at or below the current point. */
  compact(ref: SnapshotRef): void {
    if (ref.index <= this.base.index) return;
    assert(ref.index <= this.lastIndex(), `compact ${ref.index} is past the last index ${this.lastIndex()}`);
    assert(this.term(ref.index) === ref.term, `compact ${ref.index} at term ${ref.term}, log has ${this.term(ref.index)}`);
    this.entries = this.entries.slice(ref.index - this.base.index);
    this.base = { index: ref.index, term: ref.term };
  }

  /**
   * Replay only: the first segment on disk starts after `ref` because older segments were
   * deleted by compaction. The log restarts empty at `ref`; later records restore the rest.
   */
  restartAt(ref: SnapshotRef): void {
    this.base = { index: ref.index, term: ref.term };
    this.entries = [];
  }
}
