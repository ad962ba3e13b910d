/**
 * A compact binary encoding of Raft messages, one frame holding a batch of them.
 *
 * Frame:   magic 0xRA (u8 0xa7), version (u8 1), count (varint), then `count` messages.
 * Message: type (u8, index into MESSAGE_TYPES), flags (u8: 1 reject, 2 snapshot, 4 context),
 *          from, to (string), term, logTerm, index, commit, rejectHint (varint),
 *          entries (varint count, then each: term, index (varint), type (u8), data (bytes)),
 *          [snapshot: index, term (varint), confState, data (bytes)], [context (bytes)].
 * string = varint byte length + UTF-8; bytes = varint length + raw bytes;
 * varint = unsigned LEB128 of a safe integer (≤ 2^53 − 1).
 *
 * Decoding checks every length against the frame and throws `CodecError` on anything
 * malformed (the transport then closes that one connection). Decoded `data`, `context`
 * and snapshot `data` are views into the frame's buffer (no copy): a transport must hand
 * the decoder a buffer it does not reuse.
 */
import { MessageType, type ConfState, type Entry, type EntryType, type Message, type Snapshot } from '../types.ts';

const MAGIC = 0xa7;
const VERSION = 1;
const F_REJECT = 1;
const F_SNAPSHOT = 2;
const F_CONTEXT = 4;

/** Wire order of the message types; append only (the index is on the wire). */
const MESSAGE_TYPES: MessageType[] = [
  MessageType.Hup, MessageType.Beat, MessageType.Prop, MessageType.App, MessageType.AppResp,
  MessageType.Vote, MessageType.VoteResp, MessageType.PreVote, MessageType.PreVoteResp,
  MessageType.Snap, MessageType.Heartbeat, MessageType.HeartbeatResp, MessageType.Unreachable,
  MessageType.SnapStatus, MessageType.CheckQuorum, MessageType.TransferLeader,
  MessageType.TimeoutNow, MessageType.ReadIndex, MessageType.ReadIndexResp,
];
const TYPE_CODE = new Map(MESSAGE_TYPES.map((t, i) => [t, i]));

/** A frame could not be decoded (truncated, bad magic, bad lengths). Not retryable: the peer is broken. */
export class CodecError extends Error {
  override name = 'CodecError';
  readonly retryable = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(`raft: codec: ${message}`, options);
  }
}

const utf8 = new TextEncoder();
const utf8d = new TextDecoder('utf-8', { fatal: true });

class Writer {
  buf: Uint8Array;
  pos = 0;
  constructor(size: number) {
    this.buf = new Uint8Array(size);
  }
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }
  varint(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new CodecError(`cannot encode ${v} as varint`);
    this.ensure(8);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }
  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  string(s: string): void {
    this.bytes(utf8.encode(s));
  }
  strings(list: string[]): void {
    this.varint(list.length);
    for (const s of list) this.string(s);
  }
}

class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}
  u8(): number {
    if (this.pos >= this.buf.length) throw new CodecError('truncated frame');
    return this.buf[this.pos++];
  }
  varint(): number {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8();
      v += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (!Number.isSafeInteger(v)) throw new CodecError('varint out of range');
        return v;
      }
      mul *= 0x80;
    }
    throw new CodecError('varint too long');
  }
  bytes(): Uint8Array {
    const n = this.varint();
    if (n > this.buf.length - this.pos) throw new CodecError('length past end of frame');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  string(): string {
    try {
      return utf8d.decode(this.bytes());
    } catch (err) {
      if (err instanceof CodecError) throw err;
      throw new CodecError('invalid utf-8', { cause: err });
    }
  }
  /** A count of items each at least `minSize` bytes long; bounded by what the frame can hold. */
  count(minSize: number): number {
    const n = this.varint();
    if (n * minSize > this.buf.length - this.pos) throw new CodecError('count past end of frame');
    return n;
  }
  strings(): string[] {
    const n = this.count(1);
    const out: string[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.string();
    return out;
  }
}

function writeConfState(w: Writer, cs: ConfState): void {
  w.strings(cs.voters);
  w.strings(cs.learners);
  w.strings(cs.votersOutgoing);
  w.strings(cs.learnersNext);
  w.u8(cs.autoLeave ? 1 : 0);
}

function readConfState(r: Reader): ConfState {
  const voters = r.strings();
  const learners = r.strings();
  const votersOutgoing = r.strings();
  const learnersNext = r.strings();
  const autoLeave = r.u8();
  if (autoLeave > 1) throw new CodecError('bad boolean');
  return { voters, learners, votersOutgoing, learnersNext, autoLeave: autoLeave === 1 };
}

function writeMessage(w: Writer, m: Message): void {
  const code = TYPE_CODE.get(m.type);
  if (code === undefined) throw new CodecError(`unknown message type ${String(m.type)}`);
  w.u8(code);
  w.u8((m.reject ? F_REJECT : 0) | (m.snapshot ? F_SNAPSHOT : 0) | (m.context ? F_CONTEXT : 0));
  w.string(m.from);
  w.string(m.to);
  w.varint(m.term);
  w.varint(m.logTerm);
  w.varint(m.index);
  w.varint(m.commit);
  w.varint(m.rejectHint);
  w.varint(m.entries.length);
  for (const e of m.entries) {
    w.varint(e.term);
    w.varint(e.index);
    w.u8(e.type);
    w.bytes(e.data);
  }
  if (m.snapshot) {
    w.varint(m.snapshot.metadata.index);
    w.varint(m.snapshot.metadata.term);
    writeConfState(w, m.snapshot.metadata.confState);
    w.bytes(m.snapshot.data);
  }
  if (m.context) w.bytes(m.context);
}

function readMessage(r: Reader): Message {
  const type = MESSAGE_TYPES[r.u8()];
  if (type === undefined) throw new CodecError('unknown message type');
  const flags = r.u8();
  if (flags & ~(F_REJECT | F_SNAPSHOT | F_CONTEXT)) throw new CodecError('unknown flags');
  const from = r.string();
  const to = r.string();
  const term = r.varint();
  const logTerm = r.varint();
  const index = r.varint();
  const commit = r.varint();
  const rejectHint = r.varint();
  const n = r.count(4);
  const entries: Entry[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const eterm = r.varint();
    const eindex = r.varint();
    const etype = r.u8();
    if (etype > 1) throw new CodecError('unknown entry type');
    entries[i] = { term: eterm, index: eindex, type: etype as EntryType, data: r.bytes() };
  }
  const m: Message = { type, from, to, term, logTerm, index, entries, commit, reject: (flags & F_REJECT) !== 0, rejectHint };
  if (flags & F_SNAPSHOT) {
    const sIndex = r.varint();
    const sTerm = r.varint();
    const confState = readConfState(r);
    const snapshot: Snapshot = { metadata: { index: sIndex, term: sTerm, confState }, data: r.bytes() };
    m.snapshot = snapshot;
  }
  if (flags & F_CONTEXT) m.context = r.bytes();
  return m;
}

/** Rough encoded size of a message, for batching decisions (exact for entry payloads). */
export function messageSize(m: Message): number {
  let n = 64 + m.from.length + m.to.length;
  for (const e of m.entries) n += 24 + e.data.length;
  if (m.snapshot) n += 64 + m.snapshot.data.length;
  if (m.context) n += 8 + m.context.length;
  return n;
}

/** Encodes a batch of messages into one frame. Throws `CodecError` on unencodable values (negative or unsafe numbers, unknown types). */
export function encodeFrame(messages: Message[]): Uint8Array {
  let size = 16;
  for (const m of messages) size += messageSize(m);
  const w = new Writer(size);
  w.u8(MAGIC);
  w.u8(VERSION);
  w.varint(messages.length);
  for (const m of messages) writeMessage(w, m);
  return w.buf.subarray(0, w.pos);
}

/** Decodes a frame made by `encodeFrame`. Throws `CodecError` if it is malformed in any way, including trailing bytes. */
export function decodeFrame(frame: Uint8Array): Message[] {
  const r = new Reader(frame);
  if (r.u8() !== MAGIC) throw new CodecError('bad magic');
  const version = r.u8();
  if (version !== VERSION) throw new CodecError(`unsupported version ${version}`);
  const n = r.count(10);
  const out: Message[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = readMessage(r);
  if (r.pos !== frame.length) throw new CodecError('trailing bytes after last message');
  return out;
}
