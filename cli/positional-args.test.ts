import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { endFlagsAtFirstArg } from './positional-args.ts';

const shapes = { booleans: new Set(['detach', 'd', 'quiet', 'q']) };

test('flags after the image belong to its command', () => {
  assert.equal(endFlagsAtFirstArg(['--name', 'web', 'bb', 'sh', '-c', 'echo hi'], shapes), ['--name', 'web', '--', 'bb', 'sh', '-c', 'echo hi']);
});

test('booleans take no value; valued flags take the next token or an = value', () => {
  assert.equal(endFlagsAtFirstArg(['-d', '--replicas', '3', '--network=front', 'bb'], shapes), ['-d', '--replicas', '3', '--network=front', '--', 'bb']);
  assert.equal(endFlagsAtFirstArg(['-dq', '-e', 'A=1', '-eB=2', 'bb', 'top'], shapes), ['-dq', '-e', 'A=1', '-eB=2', '--', 'bb', 'top']);
});

test('an explicit -- is kept as it is, and no positional means no change', () => {
  assert.equal(endFlagsAtFirstArg(['--name', 'x', '--', 'bb', '-c'], shapes), ['--name', 'x', '--', 'bb', '-c']);
  assert.equal(endFlagsAtFirstArg(['--name', 'x', '-d'], shapes), ['--name', 'x', '-d']);
});

test.run();
