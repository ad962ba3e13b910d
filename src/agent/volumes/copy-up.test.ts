import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync, symlinkSync, readlinkSync, statSync, existsSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyUp } from './copy-up.ts';

function withDirs(fn: (rootfs: string, data: string, base: string) => Promise<void>) {
  return async () => {
    const base = mkdtempSync(join(tmpdir(), 'shoal-copyup-'));
    const rootfs = join(base, 'rootfs');
    const data = join(base, 'data');
    mkdirSync(rootfs);
    mkdirSync(data);
    try { await fn(rootfs, data, base); } finally { rmSync(base, { recursive: true, force: true }); }
  };
}

test('an empty volume gets the image content, links kept as links, and the dir mode', withDirs(async (rootfs, data) => {
  mkdirSync(join(rootfs, 'srv', 'www', 'sub'), { recursive: true });
  chmodSync(join(rootfs, 'srv', 'www'), 0o750);
  writeFileSync(join(rootfs, 'srv', 'www', 'index.html'), 'hi');
  writeFileSync(join(rootfs, 'srv', 'www', 'sub', 'a'), 'a');
  symlinkSync('/etc/passwd', join(rootfs, 'srv', 'www', 'link'));
  assert.is(await copyUp(rootfs, '/srv/www', data), 'copied');
  assert.is(readFileSync(join(data, 'index.html'), 'utf8'), 'hi');
  assert.is(readFileSync(join(data, 'sub', 'a'), 'utf8'), 'a');
  assert.is(readlinkSync(join(data, 'link')), '/etc/passwd');
  assert.is(statSync(data).mode & 0o777, 0o750);
}));

test('a volume with content is left alone', withDirs(async (rootfs, data) => {
  mkdirSync(join(rootfs, 'x'));
  writeFileSync(join(rootfs, 'x', 'f'), 'image');
  writeFileSync(join(data, 'f'), 'mine');
  assert.is(await copyUp(rootfs, '/x', data), 'volume-not-empty');
  assert.is(readFileSync(join(data, 'f'), 'utf8'), 'mine');
}));

test('a target reached through a symlink is not copied from', withDirs(async (rootfs, data, base) => {
  mkdirSync(join(base, 'hostdir'));
  writeFileSync(join(base, 'hostdir', 'secret'), 's');
  symlinkSync(join(base, 'hostdir'), join(rootfs, 'data'));
  assert.is(await copyUp(rootfs, '/data/', data), 'source-via-symlink');
  assert.not.ok(existsSync(join(data, 'secret')));
  assert.is(await copyUp(rootfs, '/../hostdir', data), 'source-via-symlink');
}));

test('a missing target copies nothing', withDirs(async (rootfs, data) => {
  assert.is(await copyUp(rootfs, '/nope', data), 'no-source');
  assert.is(await copyUp(rootfs, '/', data), 'no-source');
}));

test.run();
