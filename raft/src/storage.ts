import type { Entry, HardState, ConfState, Snapshot } from './types.ts';

/**
 * The read side of stable storage, as the core sees it (etcd's `Storage`). The core
 * never writes through this interface: the driver persists what `Ready` carries and
 * then makes it visible here (for example `MemoryStorage.append`, or the WAL-backed
 * storage in `wal/`). Implementations must be synchronous: the core is.
 */
export interface Storage {
  /** The persisted hard state and membership, read once when a core is created. */
  initialState(): { hardState: HardState; confState: ConfState };
  /**
   * Entries in [lo, hi), at least one if any exist in the range, and no more than
   * `maxSize` bytes of `data` beyond the first. Throws `CompactedError` when `lo` is
   * at or below the snapshot index, `UnavailableError` when `hi` is past the last index + 1.
   */
  entries(lo: number, hi: number, maxSize: number): Entry[];
  /** The term of entry `i` (the snapshot's index is valid). Throws `CompactedError` / `UnavailableError`. */
  term(i: number): number;
  /** The index of the last entry (the snapshot's index when the log is empty). */
  lastIndex(): number;
  /** The index of the first entry still available (snapshot index + 1). */
  firstIndex(): number;
  /** The most recent snapshot. Throws `SnapshotTemporarilyUnavailableError` while one is being made. */
  snapshot(): Snapshot;
}

/** An entry at or below the compaction point was asked for. */
export class CompactedError extends Error {
  override name = 'CompactedError';
  constructor(index: number) {
    super(`raft: requested index ${index} is unavailable due to compaction`);
  }
}

/** An entry past the end of the log was asked for. */
export class UnavailableError extends Error {
  override name = 'UnavailableError';
  constructor(index: number) {
    super(`raft: requested entry at index ${index} is unavailable`);
  }
}

export class SnapshotTemporarilyUnavailableError extends Error {
  override name = 'SnapshotTemporarilyUnavailableError';
  readonly retryable = true;
  constructor() {
    super('raft: snapshot is temporarily unavailable');
  }
}

/**
 * Storage that the driver can write: the `Storage` the core reads, plus durable writes.
 * Implemented in memory by `MemoryStorage` (tests, simulation) and on disk by
 * `DiskStorage` (WAL segments + snapshot files, `raft/src/wal/`).
 *
 * Contract: calls may overlap (the driver pipelines them); they take effect and their
 * promises resolve in call order. When the promise of `save` resolves, everything passed to
 * it is durable (fsync'd once for the whole batch when `sync` is true) and visible through the
 * `Storage` methods; entries passed to `save` that conflict with stored ones (same
 * index) replace them and everything after them.
 */
export interface DurableStorage extends Storage {
  save(batch: { hardState?: HardState; entries: Entry[]; snapshot?: Snapshot; sync: boolean }): Promise<void>;
  /**
   * Records a snapshot of the application state as of `index` (which must be applied),
   * durably, and makes it the one `snapshot()` returns. Does not compact the log.
   */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Promise<Snapshot>;
  /** Discards entries up to and including `index` (≤ the snapshot's index); frees their segments. */
  compact(index: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Hooks for encrypting payloads at rest (entry `data` and snapshot `data`). The
 * storage calls `seal` before writing and `open` after reading; both must be
 * deterministic in what they accept (open(seal(x)) = x). Raft metadata (terms,
 * indexes, membership) stays in clear text. The default is the identity.
 */
export interface PayloadCipher {
  seal(plain: Uint8Array): Uint8Array;
  open(sealed: Uint8Array): Uint8Array;
}
