// The relay framing and reply checks (relay-frames.ts): frames survive any chunking,
// truncated or garbage output gives a RelayProtocolError (never another exception, never
// a frame that was not sent), and a batch's replies are read by sequence number and ACK.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { FRAME, FRAME_MAX, FrameDecoder, RelayProtocolError, batchOutcome, encodeBatch, encodeFrame, parseMessages, type NlMessage } from './relay-frames.ts';

const KINDS = [FRAME.REPLIES, FRAME.PATCH_FAILED, FRAME.LINK_REMOVED];
const frameArb = fc.record({ kind: fc.constantFrom(...KINDS), body: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)) });

/** `buf` cut at `cuts` (sorted, deduplicated offsets). */
function chunks(buf: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const c of [...at, buf.length]) { out.push(buf.subarray(from, c)); from = c; }
  return out;
}

/** Runs `fn`, which may only throw RelayProtocolError. */
function onlyProtocolErrors(fn: () => void): boolean {
  try { fn(); return true; } catch (err) {
    if (!(err instanceof RelayProtocolError)) throw err;
    assert.match(err.message, /^netlink relay: /);
    return false;
  }
}

test('frames come out as they went in, however the stream is cut', () => {
  fc.assert(fc.property(fc.array(frameArb, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 10 }), (frames, cuts) => {
    const stream = Buffer.concat(frames.map((f) => encodeFrame(f.kind, f.body)));
    const d = new FrameDecoder();
    const got = chunks(stream, cuts).flatMap((c) => d.push(c));
    d.end();
    assert.equal(got.map((f) => [f.kind, [...f.body]]), frames.map((f) => [f.kind, [...f.body]]));
  }));
});

test('output cut inside a frame is an error at its end, and no partial frame is given out', () => {
  fc.assert(fc.property(fc.array(frameArb, { minLength: 1, maxLength: 4 }), fc.nat(), (frames, cut) => {
    const stream = Buffer.concat(frames.map((f) => encodeFrame(f.kind, f.body)));
    const ends = frames.reduce<number[]>((a, f) => [...a, (a.at(-1) ?? 0) + 5 + f.body.length], []);
    const at = cut % stream.length;
    const d = new FrameDecoder();
    const got = d.push(stream.subarray(0, at));
    assert.is(got.length, ends.filter((e) => e <= at).length);
    if (ends.includes(at) || at === 0) d.end();
    else assert.throws(() => d.end(), (e: unknown) => e instanceof RelayProtocolError && /ended inside a frame/.test(e.message));
  }));
});

test('garbage gives frames or a protocol error, nothing else', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
    const d = new FrameDecoder();
    onlyProtocolErrors(() => { d.push(Buffer.from(bytes)); d.end(); });
  }));
});

test('a length beyond the limit or an unknown kind is refused before the body is awaited', () => {
  const big = Buffer.alloc(4);
  big.writeUInt32LE(FRAME_MAX + 1, 0);
  assert.throws(() => new FrameDecoder().push(big), /a frame of 1048577 bytes/);
  assert.throws(() => new FrameDecoder().push(Buffer.alloc(4)), /a frame of 0 bytes/);
  assert.throws(() => new FrameDecoder().push(encodeFrame('B', Buffer.alloc(2))), /unknown frame kind 0x42/);
  assert.throws(() => encodeFrame('R', Buffer.alloc(FRAME_MAX)), (e: unknown) => e instanceof RelayProtocolError);
});

const hdr = (len: number, type: number, seq: number) => {
  const b = Buffer.alloc(16);
  b.writeUInt32LE(len, 0);
  b.writeUInt16LE(type, 4);
  b.writeUInt32LE(seq, 8);
  return b;
};
/** An NLMSG_ERROR for `seq` with `err` (0: an ACK). */
const ack = (seq: number, err = 0): NlMessage => { const d = Buffer.alloc(20); d.writeInt32LE(err, 0); return { type: 2, flags: 0, seq, data: d }; };
const link = (seq: number, index: number): NlMessage => { const d = Buffer.alloc(16); d.writeInt32LE(index, 4); return { type: 16, flags: 0, seq, data: d }; };
const wire = (ms: NlMessage[]) => Buffer.concat(ms.flatMap((m) => [hdr(16 + m.data.length, m.type, m.seq), m.data, Buffer.alloc(-m.data.length & 3)]));

test('netlink messages are read back from a reply body, 4-byte aligned; a bad length is an error', () => {
  const ms = [link(5, 3), ack(5), { type: 2, flags: 0, seq: 6, data: Buffer.from([1, 2, 3, 4, 5]) }];
  assert.equal(parseMessages(wire(ms)).map((m) => [m.type, m.seq, [...m.data]]), ms.map((m) => [m.type, m.seq, [...m.data]]));
  assert.throws(() => parseMessages(Buffer.concat([hdr(15, 2, 1)])), /bad length 15/);
  assert.throws(() => parseMessages(Buffer.concat([hdr(40, 2, 1), Buffer.alloc(8)])), /bad length 40/);
  assert.throws(() => parseMessages(Buffer.alloc(10)), /cut inside a netlink header/);
  fc.assert(fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => { onlyProtocolErrors(() => parseMessages(Buffer.from(bytes))); }));
});

test('a batch is done when every request has its ACK, in order; the first refusal stops it', () => {
  assert.equal(batchOutcome([7, 8], [ack(7), ack(8)]), { done: 2, answers: [[], []] });
  const got = batchOutcome([7, 8, 9], [ack(7), ack(8, -17)]);
  assert.equal([got.done, got.errno], [1, 17]);
  const answered = batchOutcome([3], [link(3, 12), ack(3)]);
  assert.is(answered.answers[0][0].data.readInt32LE(4), 12);
});

test('replies out of protocol are errors: a missing ACK, a stranger seq, anything after a refusal', () => {
  assert.throws(() => batchOutcome([7, 8], [ack(7)]), /misses the acknowledgement of request 1 of 2/);
  assert.throws(() => batchOutcome([7], [link(7, 1)]), /misses the acknowledgement/);
  assert.throws(() => batchOutcome([7], [ack(9)]), /seq 9 where 7 was due/);
  assert.throws(() => batchOutcome([7, 8], [ack(8), ack(7)]), /seq 8 where 7 was due/);
  assert.throws(() => batchOutcome([7], [ack(7), ack(7)]), /after the batch's last acknowledgement/);
  assert.throws(() => batchOutcome([7, 8], [ack(7, -2), ack(8)]), /after request 0 was refused/);
  assert.throws(() => batchOutcome([7], [{ type: 2, flags: 0, seq: 7, data: Buffer.alloc(2) }]), /acknowledgement of 2 bytes/);
  assert.throws(() => batchOutcome([7], [ack(7, 5)]), /positive error/);
  fc.assert(fc.property(fc.array(fc.record({ type: fc.constantFrom(2, 16), seq: fc.integer({ min: 1, max: 4 }), err: fc.integer({ min: -3, max: 1 }) }), { maxLength: 6 }), (rs) => {
    onlyProtocolErrors(() => batchOutcome([1, 2, 3], rs.map((r) => (r.type === 2 ? ack(r.seq, r.err) : link(r.seq, 1)))));
  }));
});

test('a batch frame carries its fd patches at absolute offsets, then the aligned messages', () => {
  const a = Buffer.alloc(21, 0xaa);
  const b = Buffer.alloc(24, 0xbb);
  const f = encodeBatch([{ msg: a }, { msg: b, fd: { at: 20, path: '/run/netns/x' } }]);
  assert.is(f.readUInt32LE(0), f.length - 4);
  assert.is(f.toString('latin1', 4, 5), 'B');
  assert.is(f.readUInt16LE(5), 1);
  assert.is(f.readUInt32LE(7), 24 + 20);
  assert.is(f.readUInt16LE(11), 12);
  assert.is(f.toString('utf8', 13, 25), '/run/netns/x');
  const msgs = f.subarray(25);
  assert.is(msgs.length, 24 + 24);
  assert.equal([msgs[20], msgs[21], msgs[24]], [0xaa, 0, 0xbb]);
});

test.run();
