/**
 * WAL record framing (pure: bytes in, bytes out).
 *
 * A record is a 16-byte header and a payload:
 *
 *     0  u32 LE  headerCrc   crc32 of bytes [4, 16): length, dataCrc, type, reserved
 *     4  u32 LE  length      payload bytes
 *     8  u32 LE  dataCrc     crc32 of bytes [12, 16 + length): type, reserved, payload
 *    12  u8      type        a RecordType (never 0, so zero-filled space never parses)
 *    13  u8[3]   reserved    zero
 *    16  payload
 *
 * `dataCrc` is the record checksum over type + payload. `headerCrc` also protects the
 * length, so a record whose length was damaged is recognised as damaged instead of sending
 * the reader off to a wrong offset; it also lets `findValidRecord` scan a damaged tail in
 * linear time (a candidate's header is checked before its payload is summed).
 */
import { crc32 } from 'node:zlib';

export const HEADER_BYTES = 16;

/** Upper bound for one record's payload (1 GiB); a larger length is damage. */
export const MAX_PAYLOAD_BYTES = 1 << 30;

export enum RecordType {
  /** First record of every segment: sequence number and the log position it starts after. */
  SegmentHeader = 1,
  Entry = 2,
  HardState = 3,
  /** A snapshot file that is (now) part of the state; see `codec.ts`. */
  Snapshot = 4,
  /** Entries up to an index were discarded. */
  Compact = 5,
}

const MAX_TYPE = RecordType.Compact;

/** One record to be framed: its type and payload, the payload given in pieces (not copied twice). */
export interface RecordParts {
  type: RecordType;
  parts: Uint8Array[];
}

/**
 * Frames `records` into one buffer, ready for a single write. The caller keeps ownership of
 * the parts; they are copied.
 */
export function encodeRecords(records: RecordParts[]): Buffer {
  let total = 0;
  for (const r of records) {
    total += HEADER_BYTES;
    for (const p of r.parts) total += p.byteLength;
  }
  const buf = Buffer.allocUnsafe(total);
  let off = 0;
  for (const r of records) off = writeRecord(buf, off, r);
  return buf;
}

function writeRecord(buf: Buffer, start: number, r: RecordParts): number {
  let off = start + HEADER_BYTES;
  for (const p of r.parts) {
    buf.set(p, off);
    off += p.byteLength;
  }
  const length = off - start - HEADER_BYTES;
  if (length > MAX_PAYLOAD_BYTES) throw new RangeError(`raft/wal: record of ${length} bytes is too large`);
  buf[start + 12] = r.type;
  buf[start + 13] = 0;
  buf[start + 14] = 0;
  buf[start + 15] = 0;
  buf.writeUInt32LE(length, start + 4);
  buf.writeUInt32LE(crc32(buf.subarray(start + 12, off)), start + 8);
  buf.writeUInt32LE(crc32(buf.subarray(start + 4, start + 16)), start);
  return off;
}

/** What `readRecord` found at an offset. */
export type ReadResult =
  | { kind: 'record'; type: RecordType; payload: Buffer; next: number }
  /** The buffer ends exactly here. */
  | { kind: 'end' }
  /** Not a whole, valid record: cut short (`torn`) or damaged. */
  | { kind: 'bad'; reason: string };

/** Reads the record starting at `off`. The payload is a view into `buf`, not a copy. */
export function readRecord(buf: Buffer, off: number): ReadResult {
  const left = buf.length - off;
  if (left === 0) return { kind: 'end' };
  if (left < HEADER_BYTES) return { kind: 'bad', reason: `${left} bytes left, less than a record header` };
  if (buf.readUInt32LE(off) !== crc32(buf.subarray(off + 4, off + 16))) {
    return { kind: 'bad', reason: 'header checksum mismatch' };
  }
  const length = buf.readUInt32LE(off + 4);
  const type = buf[off + 12];
  if (type === 0 || type > MAX_TYPE || buf[off + 13] !== 0 || buf[off + 14] !== 0 || buf[off + 15] !== 0) {
    return { kind: 'bad', reason: `unknown record type ${type}` };
  }
  if (length > MAX_PAYLOAD_BYTES) return { kind: 'bad', reason: `payload length ${length} too large` };
  const end = off + HEADER_BYTES + length;
  if (end > buf.length) return { kind: 'bad', reason: `payload of ${length} bytes cut short at ${buf.length - off - HEADER_BYTES}` };
  if (buf.readUInt32LE(off + 8) !== crc32(buf.subarray(off + 12, end))) {
    return { kind: 'bad', reason: 'payload checksum mismatch' };
  }
  return { kind: 'record', type, payload: buf.subarray(off + HEADER_BYTES, end), next: end };
}

/**
 * The offset of the first whole, valid record starting at or after `from`, or -1. Used to tell
 * a torn tail (nothing valid follows the damage) from damage in the middle (something does).
 * Cheap checks first (type byte, reserved zeros), then the header checksum, then the payload.
 */
export function findValidRecord(buf: Buffer, from: number): number {
  for (let off = from; off + HEADER_BYTES <= buf.length; off++) {
    const type = buf[off + 12];
    if (type === 0 || type > MAX_TYPE || buf[off + 13] !== 0 || buf[off + 14] !== 0 || buf[off + 15] !== 0) continue;
    if (readRecord(buf, off).kind === 'record') return off;
  }
  return -1;
}
