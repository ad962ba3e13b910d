import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeFrame, Frame, FrameDecoder, HelperProtocolError, resizeFrame } from './exec-frames.ts';

function int(n: number, signed = false): Buffer {
  const b = Buffer.alloc(4);
  if (signed) b.writeInt32BE(n); else b.writeUInt32BE(n);
  return b;
}

test('decoder yields pid, output, error and exit events in order', () => {
  const d = new FrameDecoder();
  const bytes = Buffer.concat([
    encodeFrame(Frame.PID, int(4242)), encodeFrame(Frame.STDOUT, Buffer.from([0, 255, 10])),
    encodeFrame(Frame.STDERR, Buffer.from('oops')), encodeFrame(Frame.ERROR, Buffer.from('exec: "x": not found')),
    encodeFrame(Frame.EXIT, int(-1, true)),
  ]);
  assert.equal(d.push(bytes), [
    { kind: 'pid', pid: 4242 }, { kind: 'stdout', data: Buffer.from([0, 255, 10]) },
    { kind: 'stderr', data: Buffer.from('oops') }, { kind: 'error', message: 'exec: "x": not found' },
    { kind: 'exit', code: -1 },
  ]);
});

test('a frame split across chunks (even inside its header) arrives once complete', () => {
  const d = new FrameDecoder();
  const f = Buffer.concat([encodeFrame(Frame.STDOUT, Buffer.from('hello')), encodeFrame(Frame.EXIT, int(3, true))]);
  const events = [];
  for (let i = 0; i < f.length; i++) events.push(...d.push(f.subarray(i, i + 1)));
  assert.equal(events, [{ kind: 'stdout', data: Buffer.from('hello') }, { kind: 'exit', code: 3 }]);
});

test('an unknown frame type is a protocol error', () => {
  assert.throws(() => new FrameDecoder().push(encodeFrame(99)), (e: Error) => e instanceof HelperProtocolError);
});

test('resize frames carry height then width, clamped to the u16 range', () => {
  assert.equal([...resizeFrame(40, 120)], [Frame.RESIZE, 0, 0, 0, 4, 0, 40, 0, 120]);
  assert.equal([...resizeFrame(0, 70000).subarray(5)], [0, 1, 255, 255]);
});

test.run();
