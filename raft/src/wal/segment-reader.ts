/**
 * Replay of WAL segments into a `LogState`, with the recovery rules of DESIGN.md:
 *
 * - A record that is cut short or fails a checksum at the end of the LAST segment, with no
 *   valid record after it, is a torn tail: the file is truncated there (and fsync'd). This is
 *   what a crash between write and fsync leaves; what is left is a prefix of what was written.
 * - Zeros from there to the end of the LAST segment are the writer's fill ahead of its end
 *   (see `segment-writer.ts`): the clean end of the log, cut off without a report.
 * - Any other damage (in an earlier segment, or with a valid record after it), a record that
 *   passes its checksum but does not decode or does not fit the log, a missing segment:
 *   `WalCorruptError` naming the file and offset. Nothing is skipped or dropped silently.
 */
import { readFile, readdir, truncate, unlink, open } from 'node:fs/promises';
import { join } from 'node:path';
import { EntryType } from '../types.ts';
import { DecodeError, SnapshotKind, decodeCompact, decodeEntry, decodeHardState, decodeSegmentHeader, decodeSnapshot } from './codec.ts';
import { WalCorruptError } from './errors.ts';
import { hex16, syncDir } from './fs-util.ts';
import { LogState } from './log-state.ts';
import { RecordType, findValidRecord, readRecord } from './record.ts';

const NAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;

/** `<seq>-<firstIndex>.wal` in hex; `firstIndex` is informational (the header is authoritative). */
export function segmentFileName(seq: number, firstIndex: number): string {
  return `${hex16(seq)}-${hex16(firstIndex)}.wal`;
}

/** A segment on disk, as the writer tracks it for deletion after compaction. */
export interface SegmentMeta {
  seq: number;
  path: string;
  /** The last log index when the segment was started (from its header). */
  prevIndex: number;
  /** The highest entry index written in the segment (0 if none). */
  lastEntryIndex: number;
  /** The lowest entry index written in the segment (Infinity if none). */
  minEntryIndex: number;
}

/** What replay found and did. */
export interface ReplayResult {
  state: LogState;
  /** Segments kept, oldest first. */
  segments: SegmentMeta[];
  /** Set when a torn tail was cut off the last segment. */
  truncated?: { file: string; offset: number; bytes: number; reason: string };
  /** Set when the last segment held nothing valid and was deleted. */
  removedEmpty?: string;
}

/** The segment files of `walDir`, by sequence number; throws when one is missing in between. */
export async function listSegments(walDir: string): Promise<{ seq: number; path: string }[]> {
  const found: { seq: number; path: string }[] = [];
  for (const name of await readdir(walDir)) {
    const m = NAME.exec(name);
    if (m) found.push({ seq: parseInt(m[1], 16), path: join(walDir, name) });
  }
  found.sort((a, b) => a.seq - b.seq);
  for (let k = 1; k < found.length; k++) {
    if (found[k].seq !== found[k - 1].seq + 1) {
      throw new WalCorruptError(found[k].path, 0, `segment ${found[k - 1].seq + 1} is missing`);
    }
  }
  return found;
}

/**
 * Replays every segment of `walDir` in order. `openData` unseals entry data (it must return
 * a fresh array, not a view into its argument). With `fsync`, a truncation is fsync'd before
 * this returns, so later segments can never follow a torn one.
 */
export async function replaySegments(walDir: string, opts: { openData: (sealed: Uint8Array) => Uint8Array; fsync: boolean }): Promise<ReplayResult> {
  const state = new LogState();
  const files = await listSegments(walDir);
  const result: ReplayResult = { state, segments: [] };
  for (let k = 0; k < files.length; k++) {
    const { seq, path } = files[k];
    const isLast = k === files.length - 1;
    const buf = await readFile(path);
    const seg: SegmentMeta = { seq, path, prevIndex: 0, lastEntryIndex: 0, minEntryIndex: Infinity };
    let off = 0;
    for (;;) {
      const r = readRecord(buf, off);
      if (r.kind === 'end') break;
      if (r.kind === 'bad') {
        if (isLast && allZero(buf, off)) {
          await cutTail(path, off, opts.fsync);
          break;
        }
        const next = findValidRecord(buf, off + 1);
        if (!isLast || next >= 0) {
          const where = next >= 0 ? `; a valid record follows at ${next}` : '; not the last segment';
          throw new WalCorruptError(path, off, r.reason + where);
        }
        await cutTail(path, off, opts.fsync);
        result.truncated = { file: path, offset: off, bytes: buf.length - off, reason: r.reason };
        break;
      }
      try {
        applyRecord(state, seg, r.type, r.payload, { first: off === 0, firstSegment: k === 0, openData: opts.openData });
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        throw new WalCorruptError(path, off, reason, { cause: err });
      }
      off = r.next;
    }
    if (off === 0) {
      // Nothing valid at all: a crash right after the segment was created. Only the last may be so.
      if (!isLast) throw new WalCorruptError(path, 0, 'segment holds no records');
      await unlink(path);
      await syncDir(walDir, opts.fsync);
      result.removedEmpty = path;
      continue;
    }
    result.segments.push(seg);
  }
  return result;
}

/** Whether `buf` holds only zeros from `off` on. */
function allZero(buf: Buffer, off: number): boolean {
  for (let i = off; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

async function cutTail(path: string, offset: number, fsync: boolean): Promise<void> {
  await truncate(path, offset);
  if (!fsync) return;
  const fh = await open(path, 'r+');
  try {
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

function applyRecord(
  state: LogState,
  seg: SegmentMeta,
  type: RecordType,
  payload: Buffer,
  ctx: { first: boolean; firstSegment: boolean; openData: (sealed: Uint8Array) => Uint8Array },
): void {
  if (ctx.first !== (type === RecordType.SegmentHeader)) {
    throw new DecodeError(ctx.first ? `segment starts with record type ${type}, not a header` : 'segment header in the middle of a segment');
  }
  switch (type) {
    case RecordType.SegmentHeader: {
      const h = decodeSegmentHeader(payload);
      if (h.seq !== seg.seq) throw new DecodeError(`header says segment ${h.seq}, file name says ${seg.seq}`);
      if (ctx.firstSegment) {
        // Older segments were deleted after compaction: the log restarts here; the segment's
        // checkpoint records (hard state, snapshots, compaction point) follow.
        state.restartAt({ index: h.prevIndex, term: h.prevTerm });
      } else if (state.lastIndex() !== h.prevIndex || state.term(h.prevIndex) !== h.prevTerm) {
        throw new DecodeError(`segment starts after index ${h.prevIndex} term ${h.prevTerm}, log ends at ${state.lastIndex()} term ${state.term(state.lastIndex())}`);
      }
      seg.prevIndex = h.prevIndex;
      return;
    }
    case RecordType.Entry: {
      const e = decodeEntry(payload);
      let data: Uint8Array;
      if (e.data.length === 0) data = new Uint8Array(0);
      else {
        try {
          data = ctx.openData(e.data);
        } catch (err) {
          throw new DecodeError(`cannot open sealed data of entry ${e.index}`, { cause: err });
        }
      }
      const entry = { term: e.term, index: e.index, type: e.type as EntryType, data };
      if (e.index === state.lastIndex() + 1) state.entries.push(entry); // the common case, without the checks' allocations
      else state.append(state.checkAppend([entry]));
      if (e.index > seg.lastEntryIndex) seg.lastEntryIndex = e.index;
      if (e.index < seg.minEntryIndex) seg.minEntryIndex = e.index;
      return;
    }
    case RecordType.HardState:
      state.hardState = decodeHardState(payload);
      return;
    case RecordType.Snapshot: {
      const s = decodeSnapshot(payload);
      const ref = { index: s.index, term: s.term };
      if (s.kind !== SnapshotKind.Created) {
        state.checkReceivedSnapshot(ref);
        state.applyReceivedSnapshot(ref, s.kind === SnapshotKind.ReceivedReset);
      } else {
        state.recordSnapshot(ref);
      }
      return;
    }
    case RecordType.Compact:
      state.compact(decodeCompact(payload));
      return;
  }
}
