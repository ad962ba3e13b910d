// Hostile layers through the real `tar`: each is refused whole and nothing outside
// the layer folder changes. (A refused entry never reaches tar, so these hold without root.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { unpackLayer } from './unpack.ts';
import { MT } from './media.ts';
import { rawTar, sha256Of, type RawTarEntry } from './testing-tar.ts';

function withDirs(fn: (d: { root: string; outside: string }) => Promise<void>): () => Promise<void> {
  return async () => {
    const base = mkdtempSync(join(tmpdir(), 'shoal-unpack-'));
    const root = join(base, 'images');
    const outside = join(base, 'swarm');
    mkdirSync(join(root, 'layers', 'f'.repeat(64)), { recursive: true });
    writeFileSync(join(root, 'layers', 'f'.repeat(64), 'kept'), 'another layer');
    mkdirSync(outside);
    writeFileSync(join(outside, 'node.key'), 'secret');
    try { await fn({ root, outside }); } finally { rmSync(base, { recursive: true, force: true }); }
  };
}

async function refused(root: string, entries: RawTarEntry[], msg: RegExp, opts: { gzip?: boolean; maxBytes?: number } = {}): Promise<void> {
  const tar = rawTar(entries);
  const blob = join(root, 'blob');
  writeFileSync(blob, opts.gzip ? gzipSync(tar) : tar);
  const err = await unpackLayer(root, { blob, mediaType: opts.gzip ? MT.ociLayerGzip : MT.ociLayerTar, diffId: sha256Of(tar) }, { maxBytes: opts.maxBytes })
    .then(() => undefined, (e: Error) => e);
  assert.ok(err, `accepted: ${msg}`);
  assert.match(err!.message, msg);
  assert.equal(readdirSync(join(root, 'layers')), ['f'.repeat(64)], 'no layer and no temp dir left; other layers kept');
  assert.is(readFileSync(join(root, 'layers', 'f'.repeat(64), 'kept'), 'utf8'), 'another layer');
}

const sameOutside = (outside: string) => assert.equal(readdirSync(outside), ['node.key']);

test('a whiteout named .wh... (or .wh. / .wh..) is refused and removes nothing', withDirs(async ({ root, outside }) => {
  for (const name of ['.wh...', '.wh..', '.wh.', 'sub/.wh...']) {
    await refused(root, [{ path: 'sub', type: '5' }, { path: name }], /unsafe layer: whiteout .* names no file/);
  }
  sameOutside(outside);
}));

test('absolute paths, .. paths and hard links out of the layer are refused', withDirs(async ({ root, outside }) => {
  await refused(root, [{ path: `${outside}/pwned`, data: 'x' }], /absolute path/);
  await refused(root, [{ path: '../../swarm/pwned', data: 'x' }], /\.\. component/);
  await refused(root, [{ path: 'h', type: '1', linkname: `${outside}/node.key` }], /absolute hard link target/);
  await refused(root, [{ path: 'h', type: '1', linkname: '../../../swarm/node.key' }], /\.\. component/);
  sameOutside(outside);
}));

test('a write through a symlink of the layer is refused before tar sees it', withDirs(async ({ root, outside }) => {
  await refused(root, [{ path: 'x', type: '2', linkname: outside }, { path: 'x/pwned', data: 'x' }], /"x\/pwned" lies under "x", a symlink/);
  await refused(root, [{ path: 'x', type: '2', linkname: '../../../..' }, { path: 'h', type: '1', linkname: 'x/swarm/node.key' }], /lies under "x"/);
  sameOutside(outside);
}));

test('trusted.overlay.* and other trusted/security xattrs are refused', withDirs(async ({ root }) => {
  await refused(root, [{ path: 'd', type: '5', pax: { 'SCHILY.xattr.trusted.overlay.opaque': 'y' } }], /sets xattr trusted\.overlay\.opaque/);
  await refused(root, [{ path: 'f', data: 'x', pax: { 'SCHILY.xattr.security.evm': 'x' } }], /sets xattr security\.evm/);
}));

test('decompression is bounded: a layer over maxBytes is refused', withDirs(async ({ root }) => {
  await refused(root, [{ path: 'zeros', data: Buffer.alloc(4 << 20) }], /unpacks to more than 1048576 bytes/, { gzip: true, maxBytes: 1 << 20 });
}));

test('a plain layer unpacks (root: tar keeps owners)', withDirs(async ({ root }) => {
  if (process.getuid?.() !== 0) { console.log('  (skipped: needs root)'); return; }
  const tar = rawTar([{ path: 'etc', type: '5' }, { path: 'etc/hostname', data: 'h\n' }, { path: 'bin', type: '5' }, { path: 'bin/sh', type: '2', linkname: '/bin/busybox' }, { path: 'bin/.wh.gone' }]);
  writeFileSync(join(root, 'blob'), tar);
  const dir = await unpackLayer(root, { blob: join(root, 'blob'), mediaType: MT.ociLayerTar, diffId: sha256Of(tar) });
  assert.is(readFileSync(join(dir, 'etc', 'hostname'), 'utf8'), 'h\n');
  assert.ok(existsSync(join(dir, 'bin', 'gone')), 'whiteout became a device');
}));

test.run();
