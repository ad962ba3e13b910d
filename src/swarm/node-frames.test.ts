import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { classifyNodeFrame } from './node-frames.ts';

test('well-formed frames of known types are known', () => {
  assert.is(classifyNodeFrame({ type: 'heartbeat', addr: '10.0.0.1:2377' }), 'known');
  assert.is(classifyNodeFrame({ type: 'status', updates: [] }), 'known');
  assert.is(classifyNodeFrame({ type: 'logs.end', id: 'a', taskId: 't' }), 'known');
  assert.is(classifyNodeFrame({ type: 'network.applied', generation: 12 }), 'known');
  assert.is(classifyNodeFrame({ type: 'attachment.remove', id: 'r', containerId: 'c' }), 'known');
});

test('a newer release\'s frame type is unknown, not an error', () => {
  assert.is(classifyNodeFrame({ type: 'from.a.newer.release', anything: 1 }), 'unknown');
  assert.is(classifyNodeFrame({ type: 'toString' }), 'unknown', 'no prototype keys');
});

test('malformed frames throw, naming the type', () => {
  assert.throws(() => classifyNodeFrame({ type: 'status' }), /malformed status frame/);
  assert.throws(() => classifyNodeFrame({ type: 'heartbeat', addr: 7 }), /malformed heartbeat frame/);
  assert.throws(() => classifyNodeFrame({ type: 'network.applied', generation: 1.5 }), /malformed network.applied frame/);
  assert.throws(() => classifyNodeFrame({ type: 'attachment.create', id: 'x' }), /malformed attachment.create frame/);
  assert.throws(() => classifyNodeFrame({ addr: 'x' }), /without a type/);
  assert.throws(() => classifyNodeFrame(null), /not an object/);
  assert.throws(() => classifyNodeFrame([1]), /not an object/);
});

test.run();
