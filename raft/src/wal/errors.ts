/**
 * Errors of the disk storage (`DiskStorage`). Each names its area (`raft/wal`) and the file
 * and byte offset where the problem was found, so an operator can inspect or repair it.
 */

/**
 * A WAL segment holds a record that fails its checksum, cannot be decoded or does not fit
 * the log (a gap, a wrong segment header), somewhere other than the torn tail of the last
 * segment. Nothing was truncated or skipped: the storage refuses to open. Not retryable.
 */
export class WalCorruptError extends Error {
  override name = 'WalCorruptError';
  readonly retryable = false;
  constructor(
    /** The segment file's path. */
    readonly file: string,
    /** Byte offset of the first bad record in `file`. */
    readonly offset: number,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`raft/wal: corrupt record in ${file} at offset ${offset}: ${reason}`, options);
  }
}

/** A snapshot file fails its checksum or cannot be decoded. */
export class SnapshotCorruptError extends Error {
  override name = 'SnapshotCorruptError';
  readonly retryable = false;
  constructor(
    readonly file: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`raft/wal: corrupt snapshot ${file}: ${reason}`, options);
  }
}

/**
 * The storage cannot serve its recorded state: the snapshot the WAL refers to (and every
 * older usable one) is missing or corrupt while the log no longer holds the entries it covers.
 */
export class SnapshotMissingError extends Error {
  override name = 'SnapshotMissingError';
  readonly retryable = false;
  constructor(dir: string, reason: string, options?: { cause?: unknown }) {
    super(`raft/wal: no usable snapshot in ${dir}: ${reason}`, options);
  }
}

/**
 * A write or sync of the storage failed (or the storage was closed). The in-memory view may
 * be ahead of the disk, so every later write is refused with this error: restart and recover.
 */
export class WalFailedError extends Error {
  override name = 'WalFailedError';
  readonly retryable = false;
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`raft/wal: ${reason}`, options);
  }
}

/**
 * Another live process holds the storage directory (its `LOCK` file names it). Two writers on
 * one WAL would corrupt it. Retryable once that process has exited.
 */
export class WalLockedError extends Error {
  override name = 'WalLockedError';
  readonly retryable = true;
  constructor(
    readonly dir: string,
    /** The holder's process ID. */
    readonly pid: number,
    options?: { cause?: unknown },
  ) {
    super(`raft/wal: ${dir} is in use by process ${pid}`, options);
  }
}
