/**
 * Payload encodings of the WAL record types (pure). Binary, little-endian; integers that
 * Raft keeps as JS numbers (terms, indexes) are stored as u64 and must be safe integers.
 * Entry and snapshot data pass through the `PayloadCipher` outside this file; here data is
 * opaque bytes.
 */
import type { Entry, EntryType, HardState } from '../types.ts';
import { RecordType } from './record.ts';
import type { RecordParts } from './record.ts';

/** Format version written in every segment header. */
export const WAL_VERSION = 1;

/** Why a snapshot record was written. */
export enum SnapshotKind {
  /** `createSnapshot`: the snapshot is recorded; the log is left alone. */
  Created = 0,
  /** A snapshot from the leader whose last entry the log held: the log is compacted up to it. */
  ReceivedKeep = 1,
  /** A snapshot from the leader that the log did not match: the whole log was discarded. */
  ReceivedReset = 2,
}

/** A snapshot (or compaction point) by its last index and that entry's term. */
export interface SnapshotRef {
  index: number;
  term: number;
}

/** The first record of every segment. */
export interface SegmentHeader {
  version: number;
  /** The segment's sequence number (1, 2, …), also in its file name. */
  seq: number;
  /** The last log index and its term when the segment was started. */
  prevIndex: number;
  prevTerm: number;
}

/** Raised by the decoders; the reader turns it into a `WalCorruptError` with file and offset. */
export class DecodeError extends Error {
  override name = 'DecodeError';
}

function writeU64(buf: Buffer, off: number, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`raft/wal: ${n} is not a non-negative safe integer`);
  buf.writeUInt32LE(n % 0x1_0000_0000, off);
  buf.writeUInt32LE(Math.floor(n / 0x1_0000_0000), off + 4);
}

function readU64(buf: Buffer, off: number): number {
  const n = buf.readUInt32LE(off + 4) * 0x1_0000_0000 + buf.readUInt32LE(off);
  if (!Number.isSafeInteger(n)) throw new DecodeError(`integer at ${off} is not a safe integer`);
  return n;
}

function need(payload: Buffer, bytes: number, what: string): void {
  if (payload.length < bytes) throw new DecodeError(`${what} payload of ${payload.length} bytes, want at least ${bytes}`);
}

const ENTRY_PREFIX = 17;

/** An entry: u8 type, u64 term, u64 index, then `data` (already sealed by the caller). */
export function entryRecord(e: Entry, data: Uint8Array): RecordParts {
  const head = Buffer.allocUnsafe(ENTRY_PREFIX);
  head[0] = e.type;
  writeU64(head, 1, e.term);
  writeU64(head, 9, e.index);
  return { type: RecordType.Entry, parts: data.byteLength > 0 ? [head, data] : [head] };
}

/** Decodes an entry; `data` is a view into `payload` (the caller copies or opens it). */
export function decodeEntry(payload: Buffer): { term: number; index: number; type: EntryType; data: Buffer } {
  need(payload, ENTRY_PREFIX, 'entry');
  const type = payload[0];
  if (type > 1) throw new DecodeError(`unknown entry type ${type}`);
  return { type, term: readU64(payload, 1), index: readU64(payload, 9), data: payload.subarray(ENTRY_PREFIX) };
}

/** Hard state: u64 term, u64 commit, then the vote as UTF-8. */
export function hardStateRecord(hs: HardState): RecordParts {
  const vote = Buffer.from(hs.vote, 'utf8');
  const head = Buffer.allocUnsafe(16);
  writeU64(head, 0, hs.term);
  writeU64(head, 8, hs.commit);
  return { type: RecordType.HardState, parts: [head, vote] };
}

/** Decodes a hard state record's payload. */
export function decodeHardState(payload: Buffer): HardState {
  need(payload, 16, 'hard state');
  return { term: readU64(payload, 0), commit: readU64(payload, 8), vote: payload.toString('utf8', 16) };
}

/** Snapshot record: u8 kind, u64 index, u64 term. The snapshot itself lives in a snapshot file. */
export function snapshotRecord(kind: SnapshotKind, ref: SnapshotRef): RecordParts {
  const buf = Buffer.allocUnsafe(17);
  buf[0] = kind;
  writeU64(buf, 1, ref.index);
  writeU64(buf, 9, ref.term);
  return { type: RecordType.Snapshot, parts: [buf] };
}

/** Decodes a snapshot record's payload. */
export function decodeSnapshot(payload: Buffer): { kind: SnapshotKind } & SnapshotRef {
  need(payload, 17, 'snapshot');
  const kind = payload[0];
  if (kind > 2) throw new DecodeError(`unknown snapshot record kind ${kind}`);
  return { kind, index: readU64(payload, 1), term: readU64(payload, 9) };
}

/** Compact record: u64 index, u64 term (the term of the entry at `index`). */
export function compactRecord(ref: SnapshotRef): RecordParts {
  const buf = Buffer.allocUnsafe(16);
  writeU64(buf, 0, ref.index);
  writeU64(buf, 8, ref.term);
  return { type: RecordType.Compact, parts: [buf] };
}

/** Decodes a compact record's payload. */
export function decodeCompact(payload: Buffer): SnapshotRef {
  need(payload, 16, 'compact');
  return { index: readU64(payload, 0), term: readU64(payload, 8) };
}

/** Segment header: u32 version, u64 seq, u64 prevIndex, u64 prevTerm. */
export function segmentHeaderRecord(h: Omit<SegmentHeader, 'version'>): RecordParts {
  const buf = Buffer.allocUnsafe(28);
  buf.writeUInt32LE(WAL_VERSION, 0);
  writeU64(buf, 4, h.seq);
  writeU64(buf, 12, h.prevIndex);
  writeU64(buf, 20, h.prevTerm);
  return { type: RecordType.SegmentHeader, parts: [buf] };
}

/** Decodes a segment header; throws `DecodeError` for another format version. */
export function decodeSegmentHeader(payload: Buffer): SegmentHeader {
  need(payload, 28, 'segment header');
  const version = payload.readUInt32LE(0);
  if (version !== WAL_VERSION) throw new DecodeError(`unsupported WAL version ${version}`);
  return { version, seq: readU64(payload, 4), prevIndex: readU64(payload, 12), prevTerm: readU64(payload, 20) };
}
