import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseReference, familiarString, InvalidReferenceError } from './reference.ts';

const D = 'sha256:' + 'a'.repeat(64);

test('a bare name lives on Docker Hub under library/ with tag latest', () => {
  assert.equal(parseReference('busybox'), { domain: 'docker.io', path: 'library/busybox', tag: 'latest' });
});

test('a first component with a port or dot is the registry domain', () => {
  assert.equal(parseReference('127.0.0.1:5000/test/bb:v1'), { domain: '127.0.0.1:5000', path: 'test/bb', tag: 'v1' });
  assert.equal(parseReference('localhost/x'), { domain: 'localhost', path: 'x', tag: 'latest' });
  assert.equal(parseReference('reg.example.com/a/b'), { domain: 'reg.example.com', path: 'a/b', tag: 'latest' });
});

test('a digest pins without implying latest', () => {
  assert.equal(parseReference(`busybox@${D}`), { domain: 'docker.io', path: 'library/busybox', digest: D });
  assert.equal(parseReference(`h:5000/bb:v2@${D}`).tag, 'v2');
});

test('familiar strings drop docker.io and library/', () => {
  assert.is(familiarString(parseReference('docker.io/library/busybox')), 'busybox:latest');
  assert.is(familiarString(parseReference('127.0.0.1:5000/test/bb:v1')), '127.0.0.1:5000/test/bb:v1');
});

test('bad references are refused with a clear error', () => {
  for (const bad of ['', 'UPPER', 'a//b', 'x:bad tag', 'x@sha256:123', 'x::y']) {
    assert.throws(() => parseReference(bad), (e: unknown) => e instanceof InvalidReferenceError && /invalid reference/.test((e as Error).message));
  }
});

test.run();
