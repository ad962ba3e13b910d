import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LayerChecker, pathParts, whiteoutTarget } from './layer-check.ts';
import type { TarEntryHeader } from './tar-reader.ts';

const e = (path: string, type = '0', more: Partial<TarEntryHeader> = {}): TarEntryHeader => ({ path, type, size: 0, mode: 0o644, linkname: '', pax: {}, ...more });
const refuses = (entries: TarEntryHeader[], msg: RegExp) => {
  const c = new LayerChecker();
  assert.throws(() => { for (const x of entries) c.check(x); }, (err: Error) => err.name === 'UnsafeLayerError' && msg.test(err.message));
};

test('paths are relative without .. components; ./ and // are harmless', () => {
  assert.equal(pathParts('./etc//passwd'), ['etc', 'passwd']);
  assert.equal(pathParts('./'), []);
  assert.throws(() => pathParts('/etc/passwd'), /absolute path/);
  assert.throws(() => pathParts('a/../../b'), /has a \.\. component/);
});

test('whiteouts of nothing, . or .. are refused; the opaque marker and AUFS metadata are not whiteouts', () => {
  for (const n of ['.wh.', '.wh..', '.wh...']) assert.throws(() => whiteoutTarget(n), /names no file of its directory/);
  assert.is(whiteoutTarget('.wh.x'), 'x');
  assert.is(whiteoutTarget('.wh..wh..opq'), null);
  assert.is(whiteoutTarget('passwd'), undefined);
  refuses([e('.wh...')], /whiteout "\.wh\.\.\." names no file/);
  refuses([e('a/b/.wh..')], /whiteout/);
});

test('absolute paths, .. and hard links out of the layer are refused', () => {
  refuses([e('/etc/shadow')], /absolute path/);
  refuses([e('../../etc/cron.d/x')], /\.\. component/);
  refuses([e('h', '1', { linkname: '/etc/shadow' })], /absolute hard link target/);
  refuses([e('h', '1', { linkname: '../../../etc/shadow' })], /hard link target .* \.\. component/);
  refuses([e('h', '0'), e('', '0')], /empty path/);
});

test('nothing is written through a symlink of the same layer', () => {
  refuses([e('etc', '2', { linkname: '/etc' }), e('etc/passwd')], /"etc\/passwd" lies under "etc", a symlink/);
  refuses([e('x', '2', { linkname: '/' }), e('h', '1', { linkname: 'x/etc/shadow' })], /hard link target of "h" lies under "x"/);
  refuses([e('x', '2', { linkname: '/etc' }), e('x', '5')], /replaces a symlink/);
  refuses([e('x', '2', { linkname: '/etc' }), e('y', '1', { linkname: 'x' }), e('y/passwd')], /lies under "y"/);
  const c = new LayerChecker();
  for (const x of [e('bin', '5'), e('bin/busybox'), e('bin/sh', '2', { linkname: 'busybox' }), e('bin/sh', '2', { linkname: '/bin/busybox' }), e('lib', '2', { linkname: 'usr/lib' }), e('usr/lib/x')]) c.check(x);
});

test('xattrs: trusted.* and most of security.* are refused; user.*, file caps and ACLs pass', () => {
  refuses([e('d', '5', { pax: { 'SCHILY.xattr.trusted.overlay.opaque': 'y' } })], /sets xattr trusted\.overlay\.opaque/);
  refuses([e('f', '0', { pax: { 'SCHILY.xattr.trusted.overlay.redirect': '/etc' } })], /trusted\.overlay\.redirect/);
  refuses([e('f', '0', { pax: { 'LIBARCHIVE.xattr.security.ima': 'x' } })], /security\.ima/);
  const c = new LayerChecker();
  c.check(e('f', '0', { pax: { 'SCHILY.xattr.user.k': 'v', 'SCHILY.xattr.security.capability': 'c', 'SCHILY.xattr.system.posix_acl_access': 'a' } }));
});

test.run();
