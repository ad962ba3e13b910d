import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blobPath, buildTestImage, sha256Digest, writeOciTarball } from './test-image.ts';
import { writeTar } from './tar.ts';

test('test image is deterministic and v1 differs from v2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-img-'));
  try {
    const a = buildTestImage(join(dir, 'a'), { version: 'v1' });
    const b = buildTestImage(join(dir, 'b'), { version: 'v1' });
    const c = buildTestImage(join(dir, 'a'), { version: 'v2' });
    assert.is(a.manifestDigest, b.manifestDigest);
    assert.is.not(a.manifestDigest, c.manifestDigest);
    const index = JSON.parse(readFileSync(join(dir, 'a', 'index.json'), 'utf8'));
    assert.equal(index.manifests.map((m: any) => m.annotations['org.opencontainers.image.ref.name']), ['v1', 'v2']);
    for (const d of [a.manifestDigest, a.configDigest, a.layerDigest]) {
      assert.is(sha256Digest(readFileSync(blobPath(a.layoutDir, d))), d);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('layer unpacks with GNU tar: busybox, applet links, passwd, VERSION', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-img-'));
  try {
    const img = buildTestImage(join(dir, 'layout'), { version: 'v2' });
    const out = join(dir, 'rootfs');
    execFileSync('mkdir', ['-p', out]);
    execFileSync('tar', ['-xzf', blobPath(img.layoutDir, img.layerDigest), '-C', out]);
    assert.is(readFileSync(join(out, 'www/VERSION'), 'utf8'), 'v2\n');
    assert.match(readFileSync(join(out, 'etc/passwd'), 'utf8'), /nobody:x:65534:65534/);
    const v = execFileSync(join(out, 'bin/sh'), ['-c', 'echo ok; id -u'], { encoding: 'utf8' });
    assert.match(v, /^ok\n/);
    for (const a of ['httpd', 'nc', 'nslookup', 'wget', 'sleep', 'ip', 'ping', 'yes', 'dd']) {
      assert.is(execFileSync('readlink', [join(out, 'bin', a)], { encoding: 'utf8' }).trim(), 'busybox');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tar writer handles long paths with the ustar prefix', () => {
  const long = 'd'.repeat(80) + '/' + 'f'.repeat(90);
  const tar = writeTar([{ type: 'file', path: long, data: Buffer.from('x') }]);
  const dir = mkdtempSync(join(tmpdir(), 'shoal-tar-'));
  try {
    execFileSync('tar', ['-xf', '-', '-C', dir], { input: tar });
    assert.is(readFileSync(join(dir, long), 'utf8'), 'x');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('OCI tarball lists layout files, manifest.json and blobs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-img-'));
  try {
    const img = buildTestImage(join(dir, 'layout'), { version: 'v1' });
    writeOciTarball(img.layoutDir, join(dir, 'bb.tar'));
    const names = execFileSync('tar', ['-tf', join(dir, 'bb.tar')], { encoding: 'utf8' }).trim().split('\n');
    assert.ok(names.includes('oci-layout'));
    assert.ok(names.includes('index.json'));
    assert.ok(names.includes('manifest.json'));
    assert.ok(names.includes(`blobs/sha256/${img.manifestDigest.slice(7)}`));
    const m = JSON.parse(execFileSync('tar', ['-xOf', join(dir, 'bb.tar'), 'manifest.json'], { encoding: 'utf8' }));
    assert.equal(m[0].RepoTags, ['shoal/bb:v1']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
