import { CompactedError, UnavailableError } from './storage.ts';
import type { Storage } from './storage.ts';
import { SnapshotOutOfDateError, assert } from './errors.ts';
import { emptyConfState, EntryType } from './types.ts';
import type { ConfState, Entry, HardState, Snapshot } from './types.ts';

/**
 * Storage held in memory (etcd's MemoryStorage): tests, simulations, and as the read view a
 * driver keeps in front of a durable store. The driver writes what `Ready` carries through
 * `append`/`setHardState`/`applySnapshot` and the core reads it back through `Storage`.
 *
 * Invariant: `ents[0]` is a dummy entry standing for the snapshot (its index and term);
 * real entries follow it contiguously.
 */
export class MemoryStorage implements Storage {
  private hardState: HardState = { term: 0, vote: '', commit: 0 };
  private snap: Snapshot;
  private ents: Entry[];

  /** A new cluster is bootstrapped by giving the initial voters in `confState`. */
  constructor(opts: { confState?: ConfState } = {}) {
    const cs = opts.confState ? cloneConfState(opts.confState) : emptyConfState();
    this.snap = { metadata: { index: 0, term: 0, confState: cs }, data: new Uint8Array() };
    this.ents = [dummy(0, 0)];
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: { ...this.hardState }, confState: cloneConfState(this.snap.metadata.confState) };
  }

  setHardState(hs: HardState): void {
    this.hardState = { ...hs };
  }

  entries(lo: number, hi: number, maxSize: number): Entry[] {
    const offset = this.ents[0].index;
    if (lo <= offset) throw new CompactedError(lo);
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1);
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxSize);
  }

  term(i: number): number {
    const offset = this.ents[0].index;
    if (i < offset) throw new CompactedError(i);
    if (i - offset >= this.ents.length) throw new UnavailableError(i);
    return this.ents[i - offset].term;
  }

  lastIndex(): number {
    return this.ents[0].index + this.ents.length - 1;
  }

  firstIndex(): number {
    return this.ents[0].index + 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the whole log with `snap` (the driver persisted it from `Ready.snapshot`). */
  applySnapshot(snap: Snapshot): void {
    const { index, term } = snap.metadata;
    if (index <= this.snap.metadata.index) throw new SnapshotOutOfDateError(index, this.snap.metadata.index);
    this.snap = snap;
    this.ents = [dummy(index, term)];
  }

  /**
   * Records a snapshot of the application as of `index` (which must be applied and still in
   * the log) and makes it the one `snapshot()` returns. Does not compact.
   */
  createSnapshot(index: number, cs: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.snap.metadata.index) throw new SnapshotOutOfDateError(index, this.snap.metadata.index);
    assert(index <= this.lastIndex(), `snapshot ${index} is past the last index ${this.lastIndex()}`);
    const term = this.ents[index - this.ents[0].index].term;
    this.snap = { metadata: { index, term, confState: cloneConfState(cs) }, data };
    return this.snap;
  }

  /** Discards the entries up to and including `index`; `index` must be in the log. */
  compact(index: number): void {
    const offset = this.ents[0].index;
    if (index <= offset) throw new CompactedError(index);
    assert(index <= this.lastIndex(), `compact ${index} is past the last index ${this.lastIndex()}`);
    const i = index - offset;
    this.ents = [dummy(this.ents[i].index, this.ents[i].term), ...this.ents.slice(i + 1)];
  }

  /**
   * Appends entries (contiguous, from `Ready.entries`). Entries at or below the compaction point
   * are skipped; an entry whose index is already stored replaces it and everything after it.
   */
  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0].index + entries.length - 1;
    if (last < first) return;
    if (first > entries[0].index) entries = entries.slice(first - entries[0].index);
    const offset = entries[0].index - this.ents[0].index;
    assert(offset <= this.ents.length, `missing log entry: last ${this.lastIndex()}, append at ${entries[0].index}`);
    this.ents = this.ents.slice(0, offset).concat(entries);
  }
}

function dummy(index: number, term: number): Entry {
  return { index, term, type: EntryType.Normal, data: new Uint8Array() };
}

function cloneConfState(cs: ConfState): ConfState {
  return {
    voters: [...cs.voters],
    learners: [...cs.learners],
    votersOutgoing: [...cs.votersOutgoing],
    learnersNext: [...cs.learnersNext],
    autoLeave: cs.autoLeave,
  };
}

/** The bytes an entry counts for against size limits: its payload. */
export function entrySize(e: Entry): number {
  return e.data.byteLength;
}

/** The longest prefix of `ents` within `maxSize` bytes, but always at least one entry. */
export function limitSize(ents: Entry[], maxSize: number): Entry[] {
  if (ents.length === 0) return ents;
  let size = entrySize(ents[0]);
  let n = 1;
  for (; n < ents.length; n++) {
    size += entrySize(ents[n]);
    if (size > maxSize) break;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}
