import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EntryType } from '../types.ts';
import { SnapshotKind, decodeCompact, decodeEntry, decodeHardState, decodeSegmentHeader, decodeSnapshot, compactRecord, entryRecord, hardStateRecord, segmentHeaderRecord, snapshotRecord } from './codec.ts';
import { HEADER_BYTES, RecordType, encodeRecords, findValidRecord, readRecord } from './record.ts';

const BIG = Number.MAX_SAFE_INTEGER;

function readAll(buf: Buffer): { type: RecordType; payload: Buffer }[] {
  const out = [];
  let off = 0;
  for (;;) {
    const r = readRecord(buf, off);
    if (r.kind === 'end') return out;
    if (r.kind === 'bad') throw new Error(r.reason);
    out.push({ type: r.type, payload: r.payload });
    off = r.next;
  }
}

test('every record type encodes and decodes to the same values, up to the largest safe integer', () => {
  const data = new Uint8Array([1, 2, 3, 0, 255]);
  const buf = encodeRecords([
    segmentHeaderRecord({ seq: 7, prevIndex: BIG - 1, prevTerm: 2 ** 40 }),
    entryRecord({ term: BIG, index: BIG, type: EntryType.ConfChange, data }, data),
    entryRecord({ term: 1, index: 2, type: EntryType.Normal, data: new Uint8Array(0) }, new Uint8Array(0)),
    hardStateRecord({ term: 3, vote: 'nœud', commit: 2 ** 32 + 5 }),
    snapshotRecord(SnapshotKind.ReceivedReset, { index: 9, term: 4 }),
    compactRecord({ index: 8, term: 3 }),
  ]);
  const recs = readAll(buf);
  assert.equal(recs.map((r) => r.type), [RecordType.SegmentHeader, RecordType.Entry, RecordType.Entry, RecordType.HardState, RecordType.Snapshot, RecordType.Compact]);
  assert.equal(decodeSegmentHeader(recs[0].payload), { version: 1, seq: 7, prevIndex: BIG - 1, prevTerm: 2 ** 40 });
  const e = decodeEntry(recs[1].payload);
  assert.equal([e.term, e.index, e.type, Array.from(e.data)], [BIG, BIG, EntryType.ConfChange, [1, 2, 3, 0, 255]]);
  assert.is(decodeEntry(recs[2].payload).data.length, 0);
  assert.equal(decodeHardState(recs[3].payload), { term: 3, vote: 'nœud', commit: 2 ** 32 + 5 });
  assert.equal(decodeSnapshot(recs[4].payload), { kind: SnapshotKind.ReceivedReset, index: 9, term: 4 });
  assert.equal(decodeCompact(recs[5].payload), { index: 8, term: 3 });
});

test('an entry record is 16 + 17 bytes plus its data; data is not JSON-encoded', () => {
  const data = new Uint8Array(100).fill(7);
  const buf = encodeRecords([entryRecord({ term: 1, index: 1, type: EntryType.Normal, data }, data)]);
  assert.is(buf.length, HEADER_BYTES + 17 + 100);
});

test('integers that are not safe are refused when encoding', () => {
  assert.throws(() => compactRecord({ index: BIG + 1, term: 1 }), /safe integer/);
  assert.throws(() => compactRecord({ index: -1, term: 1 }), /safe integer/);
});

test('a record cut short at any byte is bad, at its end is fine', () => {
  const buf = encodeRecords([hardStateRecord({ term: 1, vote: 'a', commit: 1 })]);
  assert.is(readRecord(buf.subarray(0, 0), 0).kind, 'end');
  for (let cut = 1; cut < buf.length; cut++) assert.is(readRecord(buf.subarray(0, cut), 0).kind, 'bad', `cut ${cut}`);
  assert.is(readRecord(buf, 0).kind, 'record');
});

test('a damaged length is caught by the header checksum, not followed', () => {
  const buf = encodeRecords([hardStateRecord({ term: 1, vote: 'a', commit: 1 }), compactRecord({ index: 1, term: 1 })]);
  for (let bit = 0; bit < 32; bit++) {
    const d = Buffer.from(buf);
    d.writeUInt32LE((d.readUInt32LE(4) ^ (1 << bit)) >>> 0, 4);
    const r = readRecord(d, 0);
    assert.is(r.kind, 'bad');
    if (r.kind === 'bad') assert.is(r.reason, 'header checksum mismatch');
  }
});

test('findValidRecord finds the next whole record after damage, and nothing in zeros or a torn tail', () => {
  const a = encodeRecords([hardStateRecord({ term: 1, vote: 'a', commit: 1 })]);
  const b = encodeRecords([compactRecord({ index: 1, term: 1 })]);
  const damaged = Buffer.concat([a, b]);
  damaged[20] ^= 0xff;
  assert.is(readRecord(damaged, 0).kind, 'bad');
  assert.is(findValidRecord(damaged, 1), a.length);
  assert.is(findValidRecord(Buffer.alloc(4096), 0), -1);
  assert.is(findValidRecord(Buffer.concat([a, b.subarray(0, b.length - 1)]), 1), -1);
});

test('decoding rejects a payload too short for its type', () => {
  assert.throws(() => decodeEntry(Buffer.alloc(5)), /at least 17/);
  assert.throws(() => decodeHardState(Buffer.alloc(15)), /at least 16/);
  assert.throws(() => decodeSegmentHeader(Buffer.alloc(28)), /unsupported WAL version 0/);
});

test.run();
