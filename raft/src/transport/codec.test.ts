import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EntryType, MessageType, message, type Message } from '../types.ts';
import { CodecError, decodeFrame, encodeFrame } from './codec.ts';

const bytes = (...v: number[]) => new Uint8Array(v);

function sample(): Message[] {
  return [
    message({ type: MessageType.Heartbeat, from: 'a', to: 'b', term: 3, commit: 7, context: bytes(1, 2, 3) }),
    message({
      type: MessageType.App, from: 'a', to: 'c', term: 2 ** 40, logTerm: 2, index: 41, commit: 40,
      entries: [
        { term: 2, index: 42, type: EntryType.Normal, data: new Uint8Array(1024).fill(7) },
        { term: 2, index: 43, type: EntryType.ConfChange, data: new TextEncoder().encode('{"changes":[]}') },
        { term: 2, index: 44, type: EntryType.Normal, data: new Uint8Array(0) },
      ],
    }),
    message({ type: MessageType.AppResp, from: 'c', to: 'a', term: 2, index: 10, reject: true, rejectHint: 9, logTerm: 1 }),
    message({
      type: MessageType.Snap, from: 'a', to: 'b', term: 5,
      snapshot: {
        metadata: { index: Number.MAX_SAFE_INTEGER, term: 4, confState: { voters: ['a', 'b', 'ü'], learners: ['d'], votersOutgoing: [], learnersNext: ['d'], autoLeave: true } },
        data: new Uint8Array(70_000).fill(9),
      },
    }),
    message({ type: MessageType.ReadIndexResp, from: 'a', to: 'b', term: 5, index: 99, context: new Uint8Array(0) }),
  ];
}

const plain = (ms: Message[]) => JSON.parse(JSON.stringify(ms, (_k, v) => (v instanceof Uint8Array ? Array.from(v) : v)));

test('a frame of messages round-trips, entries and snapshot included', () => {
  const ms = sample();
  const back = decodeFrame(encodeFrame(ms));
  assert.equal(plain(back), plain(ms));
  assert.equal(back[3].snapshot!.metadata.index, Number.MAX_SAFE_INTEGER);
  assert.is(back[0].snapshot, undefined);
  assert.is(back[2].context, undefined);
});

test('every message type round-trips', () => {
  const ms = Object.values(MessageType).map((type) => message({ type, from: 'x', to: 'y', term: 1 }));
  assert.equal(plain(decodeFrame(encodeFrame(ms))), plain(ms));
});

test('an empty batch round-trips', () => {
  assert.equal(decodeFrame(encodeFrame([])), []);
});

test('encoding refuses negative and unsafe numbers', () => {
  assert.throws(() => encodeFrame([message({ type: MessageType.App, term: -1 })]), (e: unknown) => e instanceof CodecError);
  assert.throws(() => encodeFrame([message({ type: MessageType.App, term: 2 ** 60 })]), (e: unknown) => e instanceof CodecError);
});

test('every truncation of a valid frame is rejected with CodecError', () => {
  const frame = encodeFrame(sample().slice(0, 3));
  for (let n = 0; n < frame.length; n++) {
    assert.throws(() => decodeFrame(frame.subarray(0, n)), (e: unknown) => e instanceof CodecError, `length ${n}`);
  }
});

test('bad magic, version, type, flags, trailing bytes and huge counts are rejected', () => {
  const good = encodeFrame(sample().slice(0, 1));
  const bad = (mutate: (f: Uint8Array) => Uint8Array) => {
    const f = mutate(Uint8Array.from(good));
    assert.throws(() => decodeFrame(f), (e: unknown) => e instanceof CodecError);
  };
  bad((f) => ((f[0] = 0), f));
  bad((f) => ((f[1] = 99), f));
  bad((f) => ((f[3] = 200), f)); // message type
  bad((f) => ((f[4] = 0x80), f)); // flags
  bad((f) => Uint8Array.from([...f, 0]));
  bad(() => bytes(0xa7, 1, 0xff, 0xff, 0xff, 0xff, 0x0f)); // count far past the frame
  bad(() => bytes(0xa7, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)); // varint too long
});

test('random garbage never throws anything but CodecError', () => {
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const base = encodeFrame(sample());
  for (let i = 0; i < 2000; i++) {
    const f = Uint8Array.from(base.subarray(0, 200));
    for (let k = 0; k < 4; k++) f[2 + Math.floor(rand() * 198)] = Math.floor(rand() * 256);
    try {
      decodeFrame(f);
    } catch (e) {
      if (!(e instanceof CodecError)) throw new Error(`seed ${seed}: ${String(e)}`);
    }
  }
});

test.run();
