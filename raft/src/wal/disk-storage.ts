/**
 * `DiskStorage`: the `DurableStorage` of raft-ts on disk — a WAL in segment files
 * (`<dir>/wal/`) plus snapshot files (`<dir>/snap/`), served from memory.
 *
 * Writes go through one queue. Each turn of the writer takes every queued call (group commit),
 * checks and applies them to the in-memory state, writes their snapshot files (atomically),
 * frames all their WAL records into one buffer, does one write and — if any call asked for it
 * — one fdatasync, then resolves them. Calls are applied in the order they were made.
 *
 * A call that asks for no sync (a hard state where only `commit` moved) starts no turn of its
 * own: it waits for the next call that syncs, or at most `DEFER_MS`, and rides along in that
 * write, as etcd's WAL keeps such records in its write buffer until the next fsync. A Raft
 * leader makes one such call per commit: this saves it a write syscall per commit.
 */
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { limitSize } from '../memory-storage.ts';
import type { DurableStorage, PayloadCipher } from '../storage.ts';
import { emptyConfState } from '../types.ts';
import type { ConfState, Entry, HardState, Snapshot } from '../types.ts';
import { SnapshotKind, compactRecord, entryRecord, hardStateRecord, segmentHeaderRecord, snapshotRecord } from './codec.ts';
import type { SnapshotRef } from './codec.ts';
import { SnapshotCorruptError, SnapshotMissingError, WalFailedError } from './errors.ts';
import { lockDir } from './dir-lock.ts';
import type { DirLock } from './dir-lock.ts';
import { makePrivateDir, syncDir } from './fs-util.ts';
import type { LogState } from './log-state.ts';
import { encodeRecords } from './record.ts';
import type { RecordParts } from './record.ts';
import { replaySegments } from './segment-reader.ts';
import type { ReplayResult } from './segment-reader.ts';
import { SegmentWriter } from './segment-writer.ts';
import { pruneSnapshotFiles, readSnapshotFile, snapshotFileName, writeSnapshotFile } from './snapshot-file.ts';

/** Receives recovery notices. Fields are dotted keys (`wal.file`, `wal.offset`). */
export interface WalLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

export interface DiskStorageOptions {
  /** Seals entry and snapshot data before writing, opens it after reading. Default: none (clear text). */
  cipher?: PayloadCipher;
  /** A new segment is started once the active one holds at least this many bytes. Default 64 MiB. */
  segmentBytes?: number;
  /** Whether to fdatasync/fsync at all. Default true; false only for tests (nothing is durable then). */
  fsync?: boolean;
  /** For a directory without state: the initial membership, stored as a snapshot at index 0. Ignored otherwise. */
  confState?: ConfState;
  /** Recovery notices (torn tail cut, snapshot fallback). Default: none. */
  logger?: WalLogger;
}

/** What `open` found and repaired. */
export interface RecoveryReport {
  /** Segments replayed (before a new one was started). */
  segments: number;
  /** A torn tail cut off the last segment. */
  truncated?: ReplayResult['truncated'];
  /** Snapshot files that were unusable (renamed to `*.corrupt` unless missing); the next older one was used. */
  skippedSnapshots: { file: string; reason: string }[];
}

type SaveBatch = Parameters<DurableStorage['save']>[0];

/**
 * One accepted call, already applied in memory, waiting for the writer: its records framed,
 * and what the writer must do around them.
 */
interface Pending {
  /** The call's records, framed (none for a compaction that had nothing to do). */
  buf?: Buffer;
  /** Lowest and highest entry index among the records, if any. */
  entryRange?: { min: number; max: number };
  /** Start a new segment (with this checkpoint) before writing `buf`. */
  rotate?: { prevIndex: number; checkpoint: Buffer };
  /** A snapshot file to write (atomically, durably) before any record of the turn. */
  snapshotFile?: { snap: Snapshot; sealed: Uint8Array };
  sync: boolean;
  /** The compaction point and snapshots on record once this call is applied (for deletions). */
  baseAfter: number;
  snapshotsAfter: SnapshotRef[];
  compacted: boolean;
  newSnapshot: boolean;
  resolve: () => void;
  reject: (err: unknown) => void;
}

const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
/** The longest a call that asks for no sync waits for one that does before it is written alone. */
const DEFER_MS = 5;
const NO_LOGGER: WalLogger = { info() {}, warn() {} };
const IDENTITY: PayloadCipher = { seal: (x) => x, open: (x) => x };

/**
 * Raft storage on disk (see the file comment and README.md). Open with `DiskStorage.open`;
 * one instance per directory and process. Reads are synchronous and served from memory;
 * writes are applied in memory when called and made durable in call order.
 */
export class DiskStorage implements DurableStorage {
  /** What `open` found and repaired. */
  readonly recovery: RecoveryReport;
  private snap: Snapshot;
  /** Calls applied in memory, not yet written; in call order. */
  private queue: Pending[] = [];
  /** The writer loop, while `running` (set and cleared synchronously, so no call is missed). */
  private flushing: Promise<void> = Promise.resolve();
  private running = false;
  /** Whether a queued call asks for a sync (the writer starts a turn at once for it). */
  private queuedSync = false;
  /** The writer takes a turn for calls without a sync too (their wait is over, or closing). */
  private forced = false;
  /** Fires after `DEFER_MS` to write calls that asked for no sync. */
  private deferTimer: ReturnType<typeof setTimeout> | undefined;
  /** Set after a failed write or `close`: every later write is refused with it. */
  private failed: WalFailedError | undefined;
  private closed = false;
  /** Bytes the active segment will hold once the queue is written, and its sequence number. */
  private plannedBytes: number;
  private plannedSeq: number;

  private constructor(
    private readonly snapDir: string,
    private readonly lock: DirLock,
    private readonly state: LogState,
    private readonly writer: SegmentWriter,
    private readonly cipher: PayloadCipher,
    private readonly opts: { segmentBytes: number; fsync: boolean },
    snap: Snapshot,
    recovery: RecoveryReport,
  ) {
    this.snap = snap;
    this.recovery = recovery;
    this.plannedBytes = writer.activeBytes();
    this.plannedSeq = writer.segments[writer.segments.length - 1].seq;
  }

  /**
   * Opens (creating if needed) the storage in `dir`: replays the WAL, cuts a torn tail, loads
   * the newest usable snapshot and starts a new segment. Throws `WalCorruptError` for damage
   * other than a torn tail, `SnapshotMissingError` when no usable snapshot covers the log and
   * `WalLockedError` while another live process has the directory open (`<dir>/LOCK`).
   */
  static async open(dir: string, opts: DiskStorageOptions = {}): Promise<DiskStorage> {
    const fsync = opts.fsync ?? true;
    const logger = opts.logger ?? NO_LOGGER;
    const cipher = opts.cipher ?? IDENTITY;
    const walDir = join(dir, 'wal');
    const snapDir = join(dir, 'snap');
    await makePrivateDir(dir);
    await makePrivateDir(walDir);
    await makePrivateDir(snapDir);
    await syncDir(dir, fsync);
    const lock = await lockDir(dir);
    try {
      return await DiskStorage.recover(dir, lock, { ...opts, fsync, logger, cipher });
    } catch (err) {
      await lock.release();
      throw err;
    }
  }

  private static async recover(dir: string, lock: DirLock, opts: DiskStorageOptions & { fsync: boolean; logger: WalLogger; cipher: PayloadCipher }): Promise<DiskStorage> {
    const { fsync, logger, cipher } = opts;
    const walDir = join(dir, 'wal');
    const snapDir = join(dir, 'snap');
    const openData = (sealed: Uint8Array): Uint8Array => {
      const out = cipher.open(sealed);
      // Never keep a view into a whole segment or snapshot file buffer.
      return out.buffer === sealed.buffer ? new Uint8Array(out) : out;
    };
    const replay = await replaySegments(walDir, { openData, fsync });
    const { state } = replay;
    if (replay.truncated) {
      logger.warn('raft/wal: torn tail truncated', { 'wal.file': replay.truncated.file, 'wal.offset': replay.truncated.offset, 'wal.bytes': replay.truncated.bytes, 'wal.reason': replay.truncated.reason });
    }
    if (replay.removedEmpty) logger.warn('raft/wal: empty last segment removed', { 'wal.file': replay.removedEmpty });

    const recovery: RecoveryReport = { segments: replay.segments.length, skippedSnapshots: [] };
    if (replay.truncated) recovery.truncated = replay.truncated;
    let snap: Snapshot;
    if (replay.segments.length === 0 && state.snapshots.length === 0 && opts.confState) {
      snap = { metadata: { index: 0, term: 0, confState: cloneConfState(opts.confState) }, data: new Uint8Array(0) };
      await writeSnapshotFile(snapDir, snap, cipher.seal(snap.data), fsync);
      state.recordSnapshot({ index: 0, term: 0 });
    } else {
      snap = await loadSnapshot(snapDir, state, openData, recovery.skippedSnapshots);
      for (const s of recovery.skippedSnapshots) logger.warn('raft/wal: snapshot unusable, using an older one', { 'wal.file': s.file, 'wal.reason': s.reason });
      if (recovery.skippedSnapshots.length > 0) {
        // The unusable ones are newer than the one loaded: forget them, so that compaction
        // stays within what the loaded snapshot covers, and set damaged files aside for
        // inspection (`.corrupt`, never read or pruned again).
        state.snapshots = state.snapshots.filter((r) => r.index <= snap.metadata.index);
        for (const s of recovery.skippedSnapshots) {
          if (s.reason !== 'missing') await rename(s.file, `${s.file}.corrupt`);
        }
        await syncDir(snapDir, fsync);
      }
    }
    await pruneSnapshotFiles(snapDir, state.snapshots, fsync);

    const last = replay.segments[replay.segments.length - 1];
    const seq = last ? last.seq + 1 : 1;
    const writer = await SegmentWriter.start(walDir, {
      existing: replay.segments,
      seq,
      prevIndex: state.lastIndex(),
      checkpoint: checkpoint(state, seq),
      fsync,
    });
    await writer.sync();
    logger.info('raft/wal: opened', { 'wal.dir': dir, 'wal.segments': replay.segments.length + 1, 'raft.first': state.firstIndex(), 'raft.last': state.lastIndex(), 'raft.term': state.hardState.term, 'raft.commit': state.hardState.commit, 'raft.snapshot': snap.metadata.index });
    return new DiskStorage(snapDir, lock, state, writer, cipher, { segmentBytes: opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES, fsync }, snap, recovery);
  }

  /**
   * Counters since open: WAL writes and fdatasyncs (one each per writer turn; fewer than the
   * calls when they were group-committed), and segment files on disk.
   */
  stats(): { writes: number; syncs: number; segments: number } {
    return { ...this.writer.counters, segments: this.writer.segments.length };
  }

  /**
   * The active WAL segment, its size and how much of it is fdatasync'd. Every other file is
   * durable once written, so a crash test copies the directory and cuts this file back to
   * anywhere in [syncedBytes, bytes] to model a power cut.
   */
  unsyncedTail(): { path: string; bytes: number; syncedBytes: number } {
    return this.writer.activeTail();
  }

  // --- Storage (synchronous, from memory) ---

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: { ...this.state.hardState }, confState: cloneConfState(this.snap.metadata.confState) };
  }

  entries(lo: number, hi: number, maxSize: number): Entry[] {
    return limitSize(this.state.slice(lo, hi), maxSize);
  }

  term(i: number): number {
    return this.state.term(i);
  }

  lastIndex(): number {
    return this.state.lastIndex();
  }

  firstIndex(): number {
    return this.state.firstIndex();
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  // --- DurableStorage (applied at once, written in call order) ---

  /**
   * Persists a batch: a received snapshot first (the log is compacted up to it if it holds the
   * snapshot's last entry, else discarded), then entries (a stored index is replaced together
   * with everything after it; entries at or below the compaction point are ignored), then the
   * hard state. Visible to the `Storage` methods as soon as `save` returns; durable when the
   * promise resolves if `sync` (always with a snapshot). A call that does not fit the log is
   * refused without changing anything: `SnapshotOutOfDateError`, or `RaftAssertionError` for a
   * gap.
   */
  save(batch: SaveBatch): Promise<void> {
    return this.accept((p) => this.applySave(batch, p));
  }

  /**
   * Records a snapshot of the application as of `index` (in the log, newer than the current
   * snapshot; else `SnapshotOutOfDateError`): file written atomically and fsync'd, then a WAL
   * record, synced. `snapshot()` returns it at once. Keeps this and the previous snapshot file,
   * deletes older ones. Does not compact.
   */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Promise<Snapshot> {
    let snap: Snapshot | undefined;
    return this.accept((p) => (snap = this.applyCreateSnapshot(index, confState, data, p))).then(() => snap!);
  }

  /**
   * Discards entries up to and including `index` (at most the snapshot's index; at or below the
   * current compaction point it does nothing), at once in memory and durably when the promise
   * resolves; then deletes the segments that hold only discarded entries.
   */
  compact(index: number): Promise<void> {
    return this.accept((p) => this.applyCompact(index, p));
  }

  /** Waits for queued writes, syncs and closes. Later writes are refused (`WalFailedError`). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.forced = true;
    // Close writes the held-back calls itself: the timer would only fire on an empty queue.
    clearTimeout(this.deferTimer);
    this.deferTimer = undefined;
    this.startWriter();
    while (this.running) await this.flushing;
    if (!this.failed) this.failed = new WalFailedError('storage is closed');
    try {
      await this.writer.close();
    } finally {
      await this.lock.release();
    }
  }

  /**
   * Checks and applies one call in memory (`apply` throws before changing anything if the call
   * does not fit), frames its records and queues them for the writer.
   */
  private accept(apply: (p: Pending) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.failed || this.closed) {
        reject(this.failed ?? new WalFailedError('storage is closed'));
        return;
      }
      const p: Pending = { sync: false, baseAfter: 0, snapshotsAfter: [], compacted: false, newSnapshot: false, resolve, reject };
      // The checkpoint of a new segment must restate the state before this call.
      const rotate = this.plannedBytes >= this.opts.segmentBytes ? this.state.lastIndex() : -1;
      const before = rotate >= 0 ? checkpoint(this.state, this.plannedSeq + 1) : undefined;
      try {
        apply(p);
      } catch (err) {
        reject(err);
        return;
      }
      if (before && p.buf) {
        p.rotate = { prevIndex: rotate, checkpoint: before };
        this.plannedSeq++;
        this.plannedBytes = before.length;
      }
      this.plannedBytes += p.buf?.length ?? 0;
      p.baseAfter = this.state.base.index;
      p.snapshotsAfter = this.state.snapshots.map((r) => ({ ...r }));
      this.queue.push(p);
      if (p.sync) this.queuedSync = true;
      this.startWriter();
    });
  }

  /**
   * Starts the writer loop unless it runs, if a queued call asks for a sync (or the wait of
   * those that do not is over); else makes sure the calls that do not are written within
   * `DEFER_MS`.
   */
  private startWriter(): void {
    if (this.running || this.queue.length === 0) return;
    if (this.queuedSync || this.forced || this.failed) {
      this.running = true;
      this.flushing = this.flush();
      return;
    }
    this.deferTimer ??= setTimeout(() => {
      this.deferTimer = undefined;
      if (this.queue.length === 0) return;
      this.forced = true;
      this.startWriter();
    }, DEFER_MS);
  }

  /**
   * The writer loop: each turn takes every queued call (group commit), writes their snapshot
   * files, then their records in one write (two around a segment change), then one fdatasync
   * if any asked for it, then deletes what compaction freed, then resolves them. It clears
   * `running` in the same synchronous step that finds the queue empty (or holding only calls
   * without a sync, which then wait), so a call made by code resumed from a resolved promise
   * starts a new loop.
   */
  private async flush(): Promise<void> {
    for (;;) {
      if (this.queue.length === 0 || this.failed) {
        for (const p of this.queue.splice(0)) p.reject(this.failed);
        this.running = false;
        return;
      }
      if (!this.queuedSync && !this.forced) {
        // Only calls without a sync: they wait for one that syncs (see the file comment).
        this.running = false;
        this.startWriter();
        return;
      }
      const group = this.queue.splice(0);
      this.queuedSync = false;
      this.forced = this.closed;
      try {
        for (const p of group) {
          if (p.snapshotFile) await writeSnapshotFile(this.snapDir, p.snapshotFile.snap, p.snapshotFile.sealed, this.opts.fsync);
        }
        let chunk: Buffer[] = [];
        let range: { min: number; max: number } | undefined;
        let sync = false;
        for (const p of group) {
          if (p.rotate) {
            if (chunk.length > 0) await this.writer.append(Buffer.concat(chunk), range);
            chunk = [];
            range = undefined;
            await this.writer.rotate(p.rotate.prevIndex, p.rotate.checkpoint);
          }
          if (p.buf) chunk.push(p.buf);
          if (p.entryRange) range = range ? { min: Math.min(range.min, p.entryRange.min), max: Math.max(range.max, p.entryRange.max) } : p.entryRange;
          sync ||= p.sync;
        }
        if (chunk.length > 0) await this.writer.append(chunk.length === 1 ? chunk[0] : Buffer.concat(chunk), range);
        if (sync) await this.writer.sync();
        // Deletions only as far as what is now durable: the state after this turn's last call.
        const last = group[group.length - 1];
        if (group.some((p) => p.compacted)) await this.writer.deleteThrough(last.baseAfter);
        if (group.some((p) => p.newSnapshot)) await pruneSnapshotFiles(this.snapDir, last.snapshotsAfter, this.opts.fsync);
        for (const p of group) p.resolve();
      } catch (err) {
        this.failed = new WalFailedError('write failed; restart to recover', { cause: err });
        for (const p of group) p.reject(this.failed);
      }
    }
  }

  private applySave(batch: SaveBatch, p: Pending): void {
    const state = this.state;
    let snapRef: SnapshotRef | undefined;
    let reset = false;
    let at = { base: state.base.index, last: state.lastIndex() };
    if (batch.snapshot) {
      snapRef = { index: batch.snapshot.metadata.index, term: batch.snapshot.metadata.term };
      state.checkReceivedSnapshot(snapRef);
      reset = !state.matchesSnapshot(snapRef);
      at = { base: snapRef.index, last: reset ? snapRef.index : state.lastIndex() };
    }
    const kept = state.checkAppend(batch.entries, at);
    // Checked: from here on nothing throws for a reason of the caller's.
    const records: RecordParts[] = [];
    if (batch.snapshot && snapRef) {
      state.applyReceivedSnapshot(snapRef, reset);
      this.snap = batch.snapshot;
      p.snapshotFile = { snap: batch.snapshot, sealed: this.cipher.seal(batch.snapshot.data) };
      records.push(snapshotRecord(reset ? SnapshotKind.ReceivedReset : SnapshotKind.ReceivedKeep, snapRef));
      p.newSnapshot = true;
      // The log was cut back: old segments may go once the record is durable.
      p.sync = true;
      p.compacted = true;
    }
    state.append(kept);
    for (const e of kept) records.push(entryRecord(e, e.data.byteLength > 0 ? this.cipher.seal(e.data) : e.data));
    if (kept.length > 0) p.entryRange = { min: kept[0].index, max: kept[kept.length - 1].index };
    if (batch.hardState) {
      state.hardState = { term: batch.hardState.term, vote: batch.hardState.vote, commit: batch.hardState.commit };
      records.push(hardStateRecord(batch.hardState));
    }
    if (batch.sync) p.sync = true;
    if (records.length > 0) p.buf = encodeRecords(records);
  }

  private applyCreateSnapshot(index: number, confState: ConfState, data: Uint8Array, p: Pending): Snapshot {
    const ref = this.state.checkCreateSnapshot(index);
    const snap: Snapshot = { metadata: { index: ref.index, term: ref.term, confState: cloneConfState(confState) }, data };
    this.state.recordSnapshot(ref);
    this.snap = snap;
    p.snapshotFile = { snap, sealed: this.cipher.seal(data) };
    p.buf = encodeRecords([snapshotRecord(SnapshotKind.Created, ref)]);
    p.sync = true;
    p.newSnapshot = true;
    return snap;
  }

  private applyCompact(index: number, p: Pending): void {
    if (index <= this.state.base.index) return;
    const ref = this.state.checkCompact(index);
    this.state.compact(ref);
    p.buf = encodeRecords([compactRecord(ref)]);
    p.sync = true;
    p.compacted = true;
  }
}

/**
 * The records a segment starts with: its header, then everything replay needs should the older
 * segments be deleted — the hard state and the snapshots on record.
 */
function checkpoint(state: LogState, seq: number): Buffer {
  const last = state.lastIndex();
  return encodeRecords([
    segmentHeaderRecord({ seq, prevIndex: last, prevTerm: state.term(last) }),
    hardStateRecord(state.hardState),
    ...state.snapshots.map((ref) => snapshotRecord(SnapshotKind.Created, ref)),
  ]);
}

/**
 * The newest snapshot on record whose file is intact and which covers the log (its index at or
 * above the compaction point); unusable ones are listed in `skipped`.
 */
async function loadSnapshot(snapDir: string, state: LogState, openData: (sealed: Uint8Array) => Uint8Array, skipped: { file: string; reason: string }[]): Promise<Snapshot> {
  if (state.snapshots.length === 0) {
    if (state.base.index > 0) throw new SnapshotMissingError(snapDir, `the log starts after ${state.base.index} but no snapshot is on record`);
    return { metadata: { index: 0, term: 0, confState: emptyConfState() }, data: new Uint8Array(0) };
  }
  for (let k = state.snapshots.length - 1; k >= 0; k--) {
    const ref = state.snapshots[k];
    const file = join(snapDir, snapshotFileName(ref));
    if (ref.index < state.base.index) {
      skipped.push({ file, reason: `older than the compaction point ${state.base.index}` });
      continue;
    }
    try {
      return await readSnapshotFile(snapDir, ref, openData);
    } catch (err) {
      if (err instanceof SnapshotCorruptError) skipped.push({ file, reason: err.message });
      else if ((err as NodeJS.ErrnoException).code === 'ENOENT') skipped.push({ file, reason: 'missing' });
      else throw err;
    }
  }
  throw new SnapshotMissingError(snapDir, skipped.map((s) => `${s.file}: ${s.reason}`).join('; '));
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
