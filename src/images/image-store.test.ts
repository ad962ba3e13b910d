import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageStore, type ImageRecord } from './image-store.ts';

const hex = (c: string) => c.repeat(64);
const rec = (c: string, tags: string[], extra: Partial<ImageRecord> = {}): ImageRecord => ({
  id: `sha256:${hex(c)}`, repoTags: tags, repoDigests: [], manifestDigest: `sha256:${hex('f')}`,
  layers: [{ digest: `sha256:${hex('1')}`, mediaType: 'x', size: 1, diffId: `sha256:${hex('2')}` }], created: '', size: 1, os: 'linux', architecture: 'amd64', ...extra,
});

function withStore(fn: (s: ImageStore, dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-imgstore-'));
  try { fn(new ImageStore(dir), dir); } finally { rmSync(dir, { recursive: true, force: true }); }
}

test('find resolves familiar names, full names, short and full IDs, and digests', () => {
  withStore((s) => {
    s.put(rec('a', ['busybox:latest', '127.0.0.1:5000/x/y:v1'], { repoDigests: [`busybox@sha256:${hex('d')}`] }));
    assert.is(s.find('busybox')?.id, `sha256:${hex('a')}`);
    assert.is(s.find('docker.io/library/busybox:latest')?.id, `sha256:${hex('a')}`);
    assert.is(s.find('127.0.0.1:5000/x/y:v1')?.id, `sha256:${hex('a')}`);
    assert.is(s.find('aaaaaaaaaaaa')?.id, `sha256:${hex('a')}`);
    assert.is(s.find(`sha256:${hex('a')}`)?.id, `sha256:${hex('a')}`);
    assert.is(s.find(`busybox@sha256:${hex('d')}`)?.id, `sha256:${hex('a')}`);
    assert.is(s.find('busybox:other'), undefined);
    assert.is(s.find('Not A Ref'), undefined);
  });
});

test('a tag moves to the image that gets it; the old one becomes dangling', () => {
  withStore((s) => {
    s.put(rec('a', ['app:1']));
    s.put(rec('b', ['app:1']));
    assert.equal(s.get(`sha256:${hex('a')}`)?.repoTags, []);
    assert.equal(s.get(`sha256:${hex('b')}`)?.repoTags, ['app:1']);
  });
});

test('records survive a reopen and put merges tags of the same ID', () => {
  withStore((s, dir) => {
    s.put(rec('a', ['app:1']));
    s.put(rec('a', ['app:2']));
    const again = new ImageStore(dir);
    assert.equal(again.get(`sha256:${hex('a')}`)?.repoTags, ['app:1', 'app:2']);
    const { blobs, diffIds } = again.referenced();
    assert.ok(blobs.has(`sha256:${hex('a')}`) && blobs.has(`sha256:${hex('1')}`));
    assert.ok(diffIds.has(`sha256:${hex('2')}`));
  });
});

test.run();
