import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, statSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VolumeStore, NoSuchVolumeError, VolumeInUseError, VolumeInvalidError } from './volume-store.ts';
import type { VolumeMounter } from './mounter.ts';
import type { LocalMount } from './local-options.ts';

/** A mounter that records mounts instead of making them. */
function fakeMounter(): VolumeMounter & { mounts: Map<string, LocalMount>; calls: number } {
  const mounts = new Map<string, LocalMount>();
  const m = {
    mounts, calls: 0,
    async mount(how: LocalMount, target: string) { m.calls++; mounts.set(target, how); },
    async unmount(target: string) { mounts.delete(target); },
    isMounted: (t: string) => mounts.has(t),
  };
  return m;
}

function withStore(fn: (s: VolumeStore, root: string, m: ReturnType<typeof fakeMounter>) => Promise<void>) {
  return async () => {
    const root = mkdtempSync(join(tmpdir(), 'shoal-vol-'));
    const m = fakeMounter();
    try { await fn(new VolumeStore({ dataRoot: root, mounter: m, now: () => Date.UTC(2026, 0, 2) }), root, m); } finally { rmSync(root, { recursive: true, force: true }); }
  };
}

test('create makes owner-only dirs and keeps labels and options', withStore(async (s, root) => {
  const v = s.create('data1', { labels: { a: 'b' } });
  assert.is(v.mountpoint, join(root, 'volumes', 'data1', '_data'));
  assert.is(statSync(join(root, 'volumes')).mode & 0o777, 0o700);
  assert.is(statSync(join(root, 'volumes', 'data1')).mode & 0o777, 0o700);
  assert.is(statSync(v.mountpoint).mode & 0o777, 0o755);
  const again = new VolumeStore({ dataRoot: root }).get('data1');
  assert.equal(again.labels, { a: 'b' });
  assert.is(again.createdAt, '2026-01-02T00:00:00.000Z');
  assert.equal(s.list().map((x) => x.name), ['data1']);
}));

test('create of an existing name returns it unchanged', withStore(async (s) => {
  s.create('d2', { labels: { x: '1' } });
  assert.equal(s.create('d2').labels, { x: '1' });
}));

test('bad names and unknown options are refused naming them', withStore(async (s) => {
  assert.throws(() => s.create('/abs'), (e: Error) => e instanceof VolumeInvalidError && /invalid characters/.test(e.message));
  assert.throws(() => s.create('x'), (e: Error) => e instanceof VolumeInvalidError);
  assert.throws(() => s.create('ok1', { options: { size: '1g' } }), (e: Error) => /invalid option key: "size"/.test(e.message));
  assert.throws(() => s.create('ok1', { options: { type: 'nfs', o: 'addr=1.2.3.4', device: ':/x' } }), (e: Error) => /type: "nfs"/.test(e.message));
  assert.throws(() => s.create('ok1', { options: { type: 'tmpfs', o: 'size=1m,exec' } }), (e: Error) => /"exec"/.test(e.message));
  assert.throws(() => s.create('ok1', { options: { type: 'none', o: 'bind', device: 'rel' } }), (e: Error) => /device/.test(e.message));
  assert.is(s.find('ok1'), undefined);
}));

test('ensure makes a volume a service mount names, and a tmpfs volume is mounted once', withStore(async (s, _root, m) => {
  const p = await s.ensure('svcvol');
  assert.ok(existsSync(p));
  assert.is(s.get('svcvol').driver, 'local');
  s.create('tmp1', { options: { type: 'tmpfs', device: 'tmpfs', o: 'size=1m,mode=0755' } });
  await Promise.all([s.ensure('tmp1'), s.ensure('tmp1')]);
  await s.ensure('tmp1');
  assert.is(m.calls, 1);
  assert.equal(m.mounts.get(s.dataPath('tmp1')), { type: 'tmpfs', device: 'tmpfs', options: ['size=1m', 'mode=0755'] });
}));

test('ensure gives a volume it makes the mount\'s labels; an existing one keeps its own', withStore(async (s) => {
  await s.ensure('made1', { labels: { 'com.docker.stack.namespace': 'st' } });
  assert.equal(s.get('made1').labels, { 'com.docker.stack.namespace': 'st' });
  s.create('had1', { labels: { a: '1' } });
  await s.ensure('had1', { labels: { b: '2' } });
  assert.equal(s.get('had1').labels, { a: '1' });
}));

test('a volume in use is not removed, with docker\'s message', withStore(async (s) => {
  s.create('busy');
  try { await s.remove('busy', ['c1', 'c2']); assert.unreachable(); } catch (e) {
    assert.instance(e, VolumeInUseError);
    assert.is((e as Error).message, 'remove busy: volume is in use - [c1 c2]');
  }
  assert.ok(s.find('busy'));
}));

test('removing a bind volume unmounts before deleting and leaves the source alone', withStore(async (s, root, m) => {
  const src = join(root, 'src');
  mkdirSync(src);
  writeFileSync(join(src, 'keep'), 'x');
  s.create('bindv', { options: { type: 'none', o: 'bind', device: src } });
  await s.ensure('bindv');
  assert.ok(m.isMounted(s.dataPath('bindv')));
  await s.remove('bindv', []);
  assert.not.ok(m.isMounted(s.dataPath('bindv')));
  assert.ok(existsSync(join(src, 'keep')));
  assert.is(s.find('bindv'), undefined);
}));

test('remove refuses when the device stays mounted', withStore(async (s, root, m) => {
  s.create('stuck', { options: { type: 'tmpfs' } });
  await s.ensure('stuck');
  m.unmount = async () => {};
  try { await s.remove('stuck', []); assert.unreachable(); } catch (e) { assert.match((e as Error).message, /still mounted/); }
  assert.ok(s.find('stuck'));
}));

test('get of a missing volume says no such volume', withStore(async (s) => {
  assert.throws(() => s.get('nope'), (e: Error) => e instanceof NoSuchVolumeError && e.message === 'get nope: no such volume');
}));

test('a volume dir made by an older executor is adopted', withStore(async (s, root) => {
  mkdirSync(join(root, 'volumes', 'old1', '_data'), { recursive: true });
  assert.equal(s.get('old1').labels, {});
}));

test.run();
