import { assert } from '../errors.ts';
import { entrySize, limitSize } from '../memory-storage.ts';
import { CompactedError, UnavailableError } from '../storage.ts';
import type { Storage } from '../storage.ts';
import type { Entry, Snapshot } from '../types.ts';
import { Unstable } from './unstable.ts';

/**
 * The log as the core sees it (etcd's raftLog): what storage holds plus the unstable tail,
 * and the `committed` and `applied` cursors.
 *
 * Invariant: applied ≤ committed ≤ lastIndex; firstIndex - 1 ≤ applied.
 */
export class RaftLog {
  readonly unstable: Unstable;
  committed: number;
  applied: number;
  /**
   * The last committed index handed out in a Ready (being applied): the next Ready's
   * committed entries start after it. Invariant: applied ≤ applying ≤ committed.
   */
  applying: number;

  constructor(
    readonly storage: Storage,
    /** Max bytes of committed entries handed out per Ready. */
    readonly maxNextEntsSize = Number.MAX_SAFE_INTEGER,
  ) {
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1);
    this.committed = first - 1;
    this.applied = first - 1;
    this.applying = first - 1;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  lastTerm(): number {
    return this.term(this.lastIndex());
  }

  /**
   * The term of entry `i`. Valid for [firstIndex - 1, lastIndex]; throws `CompactedError`
   * below and `UnavailableError` above.
   */
  term(i: number): number {
    const t = this.maybeTerm(i);
    if (t !== undefined) return t;
    if (i + 1 < this.firstIndex()) throw new CompactedError(i);
    throw new UnavailableError(i);
  }

  /**
   * The term of entry `i`, or undefined outside [firstIndex - 1, lastIndex]. The hot path's
   * lookup (every append a follower takes checks each new entry): no error is built for the
   * common miss, an index past the end.
   */
  maybeTerm(i: number): number | undefined {
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    if (i + 1 < this.firstIndex() || i > this.lastIndex()) return undefined;
    try {
      return this.storage.term(i);
    } catch (e) {
      // Storage compacted under us: a miss, as before.
      if (e instanceof CompactedError || e instanceof UnavailableError) return undefined;
      throw e;
    }
  }

  /** The term of entry `i`, or 0 when it is not available. */
  zeroTermOnErr(i: number): number {
    return this.maybeTerm(i) ?? 0;
  }

  matchTerm(i: number, t: number): boolean {
    return this.maybeTerm(i) === t;
  }

  /** Whether a log ending at (lasti, term) is at least as up to date as ours (§5.4.1). */
  isUpToDate(lasti: number, term: number): boolean {
    const lt = this.lastTerm();
    return term > lt || (term === lt && lasti >= this.lastIndex());
  }

  /**
   * Appends `ents` after (index, logTerm) if our log matches there, truncating any conflicting
   * suffix, and commits up to min(committed, last new index). Returns the last new index, or
   * undefined when the log does not match.
   */
  maybeAppend(index: number, logTerm: number, committed: number, ents: Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      assert(ci > this.committed, `entry ${ci} conflicts with committed entry (committed ${this.committed})`);
      this.append(ents.slice(ci - (index + 1)));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  /** Appends to the unstable tail (replacing conflicting entries); returns the new last index. */
  append(ents: Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    assert(ents[0].index - 1 >= this.committed, `after ${ents[0].index - 1} is out of range [committed ${this.committed}]`);
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /** The index of the first entry of `ents` that is new or conflicts with ours; 0 if none. */
  findConflict(ents: Entry[]): number {
    for (const e of ents) if (!this.matchTerm(e.index, e.term)) return e.index;
    return 0;
  }

  /**
   * The largest index ≤ `index` whose term is ≤ `term`, with that term (fast backtracking:
   * every entry above it surely conflicts with a log whose entry at `index` has `term`).
   * Stops at the compaction point, returning term 0.
   */
  findConflictByTerm(index: number, term: number): [number, number] {
    for (; index > 0; index--) {
      const t = this.maybeTerm(index);
      if (t === undefined) return [index, 0];
      if (t <= term) return [index, t];
    }
    return [0, 0];
  }

  /** Unstable entries not yet handed to the driver (a write of the others is in flight). */
  unstableEntries(): Entry[] {
    return this.unstable.nextEntries();
  }

  /** Whether a snapshot is waiting to be persisted (and applied by the driver). */
  hasPendingSnapshot(): boolean {
    return this.unstable.snapshot !== undefined;
  }

  /** Committed entries not yet handed out for applying (bounded by `maxNextEntsSize`). */
  nextCommittedEnts(): Entry[] {
    if (this.hasPendingSnapshot()) return [];
    const off = Math.max(this.applying + 1, this.firstIndex());
    if (this.committed + 1 <= off) return [];
    return this.slice(off, this.committed + 1, this.maxNextEntsSize);
  }

  hasNextCommittedEnts(): boolean {
    if (this.hasPendingSnapshot()) return false;
    return this.committed + 1 > Math.max(this.applying + 1, this.firstIndex());
  }

  /** Committed entries up to `i` were handed out in a Ready (they are being applied). */
  applyingTo(i: number): void {
    if (i > this.applying) this.applying = i;
  }

  /** Entries from `i` to the end, within `maxSize` bytes (at least one). */
  entries(i: number, maxSize: number): Entry[] {
    if (i > this.lastIndex()) return [];
    return this.slice(i, this.lastIndex() + 1, maxSize);
  }

  /** Entries in [lo, hi) within `maxSize` bytes (at least one). Throws `CompactedError` below firstIndex. */
  slice(lo: number, hi: number, maxSize: number): Entry[] {
    if (lo === hi) return [];
    assert(lo < hi, `invalid slice ${lo} > ${hi}`);
    if (lo < this.firstIndex()) throw new CompactedError(lo);
    assert(hi <= this.lastIndex() + 1, `slice[${lo},${hi}) out of bound [${this.firstIndex()},${this.lastIndex()}]`);
    let ents: Entry[] = [];
    const off = this.unstable.offset;
    if (lo < off) {
      const stored = this.storage.entries(lo, Math.min(hi, off), maxSize);
      // A short read means the size limit was hit.
      if (stored.length < Math.min(hi, off) - lo) return stored;
      ents = stored;
    }
    if (hi > off) ents = ents.concat(this.unstable.slice(Math.max(lo, off), hi));
    return limitSize(ents, maxSize);
  }

  commitTo(toCommit: number): void {
    if (this.committed < toCommit) {
      assert(this.lastIndex() >= toCommit, `tocommit ${toCommit} is out of range [lastIndex ${this.lastIndex()}]`);
      this.committed = toCommit;
    }
  }

  /** Commits `maxIndex` if its entry is of `term` (only entries of the current term commit by counting). */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.zeroTermOnErr(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  appliedTo(i: number): void {
    if (i === 0) return;
    assert(this.committed >= i && i >= this.applied, `applied(${i}) is out of range [prevApplied(${this.applied}), committed(${this.committed})]`);
    this.applied = i;
    if (i > this.applying) this.applying = i;
  }

  stableTo(i: number, t: number): void {
    this.unstable.stableTo(i, t);
  }

  stableSnapTo(i: number): void {
    this.unstable.stableSnapTo(i);
  }

  /** The index up to which the log is persisted (entries before the unstable tail). */
  stableLastIndex(): number {
    return this.unstable.offset - 1;
  }

  /** Replaces the log with a snapshot (a follower far behind). */
  restore(s: Snapshot): void {
    this.committed = s.metadata.index;
    this.unstable.restore(s);
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  /** Every entry from firstIndex on (for tests). */
  allEntries(): Entry[] {
    return this.entries(this.firstIndex(), Number.MAX_SAFE_INTEGER);
  }
}

/** The payload bytes of `ents`. */
export function payloadSize(ents: Entry[]): number {
  let n = 0;
  for (const e of ents) n += entrySize(e);
  return n;
}
