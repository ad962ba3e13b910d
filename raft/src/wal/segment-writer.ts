/**
 * Appends to WAL segments: one active segment file at a time, written at its end with
 * positional writes (small ones inline, see `append`), fdatasync'd through a `FileHandle` on
 * demand (async, so a slow disk never blocks the event loop the Raft driver and its
 * transports share).
 *
 * Zeros are written ahead of the active segment's end (`PREFILL_BYTES` at a time, in the
 * background, fdatasync'd): an append then lands in blocks the file already has, so its
 * fdatasync writes the data alone, not the inode's new size as well — one device write less
 * per sync (≈25% of an fdatasync measured on this box's ext4). etcd preallocates with
 * fallocate, whose unwritten extents still need a metadata write on the first write to them.
 * Replay reads a zero tail as the end of the log (a record type is never 0), and a segment
 * is cut back to its records before it is closed.
 *
 * Ordering rules that keep the WAL a prefix of what was written, whatever a crash cuts off:
 * - a segment is fdatasync'd (if it has unsynced writes) before the next one is created;
 * - a new segment's directory entry is fsync'd before anything written to it is acknowledged;
 * - segments are deleted oldest first, only below the compaction point, never the active one.
 */
import { writeSync } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { syncDir, writeAll } from './fs-util.ts';
import { segmentFileName } from './segment-reader.ts';
import type { SegmentMeta } from './segment-reader.ts';

/** Appends up to this many bytes are written with a synchronous `write` (see `append`). */
const SYNC_WRITE_MAX = 64 * 1024;
/** Zeros written ahead of the end at a time; the next batch starts when less than half is left. */
const PREFILL_BYTES = 1 << 20;
let zeros: Buffer | undefined;

export class SegmentWriter {
  /** Segments on disk, oldest first; the last one is active. */
  readonly segments: SegmentMeta[];
  private fh: FileHandle;
  /** Bytes in the active segment. */
  private size = 0;
  /** Whether the active segment has writes not yet fdatasync'd. */
  private dirty = false;
  /** Bytes of the active segment the last fdatasync covered. */
  private synced = 0;
  /** Counters since open: writes (one per append) and fdatasyncs of segments. */
  readonly counters = { writes: 0, syncs: 0 };
  /** Bytes of the active segment's file that exist on disk: its records and the zeros written past them. */
  private filled = 0;
  /** The zero fill in flight (it starts at `fillFrom`; no append may reach it before it ends). */
  private filling: Promise<void> | undefined;
  private fillFrom = 0;
  /** A fill failed: no more (appends extend the file as they would without). */
  private noFill = false;
  /**
   * A fill's fdatasync failed: it covers the records' pages too, so the next `sync` fails
   * with it (a write-back error is reported once per open file, so the writer's own
   * fdatasync cannot be trusted to see it: never acknowledge records on a lost write).
   */
  private fillSyncError: unknown;

  private constructor(
    private readonly walDir: string,
    private readonly fsync: boolean,
    segments: SegmentMeta[],
    fh: FileHandle,
  ) {
    this.segments = segments;
    this.fh = fh;
  }

  /**
   * Starts a new active segment `seq` after the `existing` ones (which are complete and synced),
   * beginning with `checkpoint` (its header and the records that restate the current state).
   */
  static async start(walDir: string, opts: { existing: SegmentMeta[]; seq: number; prevIndex: number; checkpoint: Buffer; fsync: boolean }): Promise<SegmentWriter> {
    const { meta, fh } = await createSegment(walDir, opts.seq, opts.prevIndex, opts.fsync);
    const w = new SegmentWriter(walDir, opts.fsync, [...opts.existing, meta], fh);
    await w.append(opts.checkpoint);
    return w;
  }

  /** Bytes in the active segment. */
  activeBytes(): number {
    return this.size;
  }

  /** Appends `buf` to the active segment; `entryRange` is the lowest and highest entry index in it, if any. */
  async append(buf: Buffer, entryRange?: { min: number; max: number }): Promise<void> {
    if (this.filling && this.size + buf.length > this.fillFrom) await this.filling;
    if (buf.length <= SYNC_WRITE_MAX) {
      // A small append only copies into the page cache (microseconds); doing it inline saves
      // one thread-pool round trip per turn (≈20% of a synced save measured here under load).
      // The fdatasync, the slow part, stays asynchronous. Larger writes go async too.
      let done = 0;
      while (done < buf.length) done += writeSync(this.fh.fd, buf, done, buf.length - done, this.size + done);
    } else {
      await writeAll(this.fh, buf, this.size);
    }
    this.size += buf.length;
    this.dirty = true;
    this.counters.writes++;
    this.prefill();
    const active = this.segments[this.segments.length - 1];
    if (entryRange) {
      active.lastEntryIndex = Math.max(active.lastEntryIndex, entryRange.max);
      active.minEntryIndex = Math.min(active.minEntryIndex, entryRange.min);
    }
  }

  /**
   * The active segment and how many of its bytes the last fdatasync covered: what a power
   * cut keeps of it (crash tests cut the file back to somewhere in between).
   */
  activeTail(): { path: string; bytes: number; syncedBytes: number } {
    return { path: this.segments[this.segments.length - 1].path, bytes: this.size, syncedBytes: this.synced };
  }

  /**
   * Starts writing `PREFILL_BYTES` zeros past what the file holds once less than half of
   * that is left ahead of the end (see the file comment). Only when syncing: the point is a
   * cheaper fdatasync.
   */
  private prefill(): void {
    if (!this.fsync || this.noFill || this.filling || Math.max(this.filled, this.size) - this.size >= PREFILL_BYTES / 2) return;
    const path = this.segments[this.segments.length - 1].path;
    const from = Math.max(this.filled, this.size);
    zeros ??= Buffer.alloc(PREFILL_BYTES);
    this.fillFrom = from;
    this.filling = (async () => {
      // Its own open file: a write-back error its fdatasync meets is then reported to the
      // writer's handle as well (Linux reports such an error once per open file).
      let fh: FileHandle | undefined;
      try {
        fh = await open(path, 'r+');
        await writeAll(fh, zeros!, from);
      } catch {
        // Only speed is lost: the zeros past the end read as the end of the log.
        this.noFill = true;
      }
      try {
        if (!this.noFill) {
          await fh!.datasync();
          this.filled = from + PREFILL_BYTES;
        }
      } catch (err) {
        this.noFill = true;
        this.fillSyncError = err;
      } finally {
        await fh?.close().catch(() => {});
        this.filling = undefined;
      }
    })();
  }

  /** Waits for a zero fill in flight, then cuts the active segment back to its records (before it is synced and closed). */
  private async cutFill(): Promise<void> {
    if (this.filling) await this.filling;
    if (this.filled > this.size || this.noFill) {
      await this.fh.truncate(this.size);
      this.dirty = true;
    }
    this.filled = 0;
  }

  /** fdatasync's the active segment if it has unsynced writes. */
  async sync(): Promise<void> {
    if (!this.dirty) return;
    const size = this.size;
    if (this.fsync) await this.fh.datasync();
    if (this.fillSyncError) throw new Error('wal: a zero fill of the segment failed to sync', { cause: this.fillSyncError });
    this.synced = size;
    this.dirty = this.size !== size;
    this.counters.syncs++;
  }

  /**
   * Closes the active segment (synced first) and starts the next one with `checkpoint`, which
   * must restate everything replay needs if all older segments were gone (hard state, snapshots).
   */
  async rotate(prevIndex: number, checkpoint: Buffer): Promise<void> {
    await this.cutFill();
    await this.sync();
    await this.fh.close();
    const seq = this.segments[this.segments.length - 1].seq + 1;
    const { meta, fh } = await createSegment(this.walDir, seq, prevIndex, this.fsync);
    this.segments.push(meta);
    this.fh = fh;
    this.size = 0;
    this.synced = 0;
    await this.append(checkpoint);
  }

  /**
   * Deletes the longest run of oldest segments (never the active one) after which replay,
   * starting from the first remaining segment, rebuilds the same state. For the first remaining
   * segment, which replay restarts at its `prevIndex`, that needs:
   * - every deleted segment holds only entries at or below `compacted` (they are discarded);
   * - it starts at or below `compacted`, so no entry above the compaction point is lost;
   * - no later segment writes an entry at or below its `prevIndex` (a conflict that rewrote the
   *   log below the restart point would otherwise be replayed against entries replay never saw).
   * Returns the deleted paths.
   */
  async deleteThrough(compacted: number): Promise<string[]> {
    const segs = this.segments;
    // minAfter[k]: the lowest entry index written in segments k.. (Infinity if none).
    const minAfter = new Array<number>(segs.length + 1).fill(Infinity);
    for (let k = segs.length - 1; k >= 0; k--) minAfter[k] = Math.min(segs[k].minEntryIndex, minAfter[k + 1]);
    let keepFrom = 0;
    for (let k = 1; k < segs.length; k++) {
      if (segs[k - 1].lastEntryIndex > compacted) break;
      if (segs[k].prevIndex <= compacted && minAfter[k] > segs[k].prevIndex) keepFrom = k;
    }
    const gone: string[] = [];
    for (const seg of segs.splice(0, keepFrom)) {
      await unlink(seg.path);
      gone.push(seg.path);
    }
    if (gone.length > 0) await syncDir(this.walDir, this.fsync);
    return gone;
  }

  /** Syncs and closes the active segment. */
  async close(): Promise<void> {
    try {
      await this.cutFill();
      await this.sync();
    } finally {
      await this.fh.close();
    }
  }
}

async function createSegment(walDir: string, seq: number, prevIndex: number, fsync: boolean): Promise<{ meta: SegmentMeta; fh: FileHandle }> {
  const path = join(walDir, segmentFileName(seq, prevIndex + 1));
  // Owner-only: the log holds the application's data (secrets included, unless sealed).
  const fh = await open(path, 'wx', 0o600);
  await syncDir(dirname(path), fsync);
  return { meta: { seq, path, prevIndex, lastEntryIndex: 0, minEntryIndex: Infinity }, fh };
}
