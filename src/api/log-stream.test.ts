import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FrameDecoder, STDERR, STDOUT, encodeFrame, formatDetails, formatLine, nanoTime, parseDetails, parseLine } from './log-stream.ts';

test('a frame has docker\'s 8-byte header: stream, three zeros, big-endian length', () => {
  const f = encodeFrame(STDERR, 'héllo\n');
  assert.equal([...f.subarray(0, 8)], [2, 0, 0, 0, 0, 0, 0, 7]);
  assert.is(f.subarray(8).toString(), 'héllo\n');
});

test('the decoder reassembles frames split at any byte', () => {
  const bytes = Buffer.concat([encodeFrame(STDOUT, 'one\n'), encodeFrame(STDERR, 'two two\n'), encodeFrame(STDOUT, '')]);
  for (let cut = 0; cut <= bytes.length; cut++) {
    const d = new FrameDecoder();
    const frames = [...d.push(bytes.subarray(0, cut)), ...d.push(bytes.subarray(cut))];
    assert.equal(frames.map((f) => [f.stream, f.payload.toString()]), [[1, 'one\n'], [2, 'two two\n'], [1, '']], `cut at ${cut}`);
    assert.is(d.buffered, 0);
  }
});

test('the decoder refuses bytes that are not a multiplexed stream', () => {
  assert.throws(() => new FrameDecoder().push(Buffer.from('hello world\n')), /not a multiplexed stream/);
});

test('details are sorted, escaped like go\'s QueryEscape, and parse back', () => {
  const attrs = { 'com.docker.swarm.task.id': 't1', 'com.docker.swarm.node.id': 'n 1', 'a,b': 'x=y' };
  const s = formatDetails(attrs);
  assert.is(s, 'a%2Cb=x%3Dy,com.docker.swarm.node.id=n+1,com.docker.swarm.task.id=t1');
  assert.equal(parseDetails(s), attrs);
});

test('a line is [time ][details ]message with a newline; it parses back', () => {
  const line = formatLine({ time: '2026-01-02T03:04:05.678Z', details: { k: 'v' }, message: 'hi there' });
  assert.is(line, '2026-01-02T03:04:05.678000000Z k=v hi there\n');
  assert.equal(parseLine(line, { timestamps: true, details: true }), { time: '2026-01-02T03:04:05.678000000Z', details: { k: 'v' }, message: 'hi there\n' });
  assert.equal(parseLine('k=v x\n', { timestamps: false, details: true }), { details: { k: 'v' }, message: 'x\n' });
  assert.is(formatLine({ message: 'kept\n' }), 'kept\n');
  assert.is(nanoTime('2026-01-02T03:04:05Z'), '2026-01-02T03:04:05.000000000Z');
});

test.run();
