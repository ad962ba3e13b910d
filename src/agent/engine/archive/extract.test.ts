import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rawTar, type RawTarEntry } from '../../../images/testing-tar.ts';
import { TarReader } from '../../../images/tar-reader.ts';
import { ScopedRoot, isGoDir } from './fd-scope.ts';
import { packPath, packTree } from './pack.ts';
import { ArchiveError, extractInto, linkStaysInside } from './extract.ts';

/** A container root beside a host directory with a secret, in a fresh temp dir. */
function setup(): { base: string; root: string; outside: string; done: () => void } {
  const base = mkdtempSync(join(tmpdir(), 'shoal-archive-'));
  const root = join(base, 'root');
  const outside = join(base, 'outside');
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret'), 'host secret\n');
  writeFileSync(join(root, 'etc', 'hosts'), '127.0.0.1 localhost\n');
  return { base, root, outside, done: () => rmSync(base, { recursive: true, force: true }) };
}

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of it) parts.push(b);
  return Buffer.concat(parts);
}

function names(tar: Buffer): { path: string; type: string; linkname: string }[] {
  const r = new TarReader();
  const out = r.push(tar).filter((e) => e.kind === 'entry').map((e) => (e as { entry: { path: string; type: string; linkname: string } }).entry);
  r.end();
  return out.map((e) => ({ path: e.path, type: e.type, linkname: e.linkname }));
}

const once = (b: Buffer) => (async function* () { yield b; })();
/** Every path under `dir` (for "nothing changed outside" checks). */
const tree = (dir: string): string[] => readdirSync(dir, { recursive: true }).map(String).sort();

test('a directory round-trips through pack and extract, links kept as links', async () => {
  const s = setup();
  try {
    mkdirSync(join(s.root, 'data', 'sub'), { recursive: true });
    writeFileSync(join(s.root, 'data', 'sub', 'f'), Buffer.alloc(70_000, 7), { mode: 0o640 });
    symlinkSync('/etc/hosts', join(s.root, 'data', 'l'));
    const long = 'n'.repeat(120);
    writeFileSync(join(s.root, 'data', long), 'long name');
    const tar = await collect(packPath(new ScopedRoot(s.root), '/data'));
    assert.equal(names(tar).map((e) => e.path), ['data/', 'data/l', `data/${long}`, 'data/sub/', 'data/sub/f']);
    mkdirSync(join(s.root, 'copy'));
    await extractInto(new ScopedRoot(s.root), '/copy', once(tar));
    assert.equal(readFileSync(join(s.root, 'copy', 'data', 'sub', 'f')), Buffer.alloc(70_000, 7));
    assert.is(statSync(join(s.root, 'copy', 'data', 'sub', 'f')).mode & 0o777, 0o640);
    assert.is(readlinkSync(join(s.root, 'copy', 'data', 'l')), '/etc/hosts');
    assert.is(readFileSync(join(s.root, 'copy', 'data', long), 'utf8'), 'long name');
    const dot = names(await collect(packPath(new ScopedRoot(s.root), '/data/sub/.'))).map((e) => e.path);
    assert.equal(dot, ['./', './f']);
    assert.ok(names(await collect(packTree(new ScopedRoot(s.root)))).some((e) => e.path === 'etc/hosts'));
  } finally { s.done(); }
});

test('a link out of the root is read inside it: no host file is ever packed or stat-ed', async () => {
  const s = setup();
  try {
    symlinkSync('../outside', join(s.root, 'up'));
    symlinkSync(s.outside, join(s.root, 'abs'));
    const root = new ScopedRoot(s.root);
    assert.throws(() => packPath(root, '/up/secret'), (e: { code?: string }) => e.code === 'ENOENT');
    assert.throws(() => packPath(root, '/abs/secret'), (e: { code?: string }) => e.code === 'ENOENT');
    // The link itself is packed as a link.
    assert.equal(names(await collect(packPath(root, '/up'))), [{ path: 'up', type: '2', linkname: '../outside' }]);
    const st = root.stat('/abs');
    assert.is(st.linkTarget, s.outside, 'the target, read in the root');
    assert.not.ok(isGoDir(st.mode));
    assert.ok(isGoDir(root.stat('/etc').mode));
    // Where the container has that path, the link leads there.
    mkdirSync(join(s.root, s.outside), { recursive: true });
    writeFileSync(join(s.root, s.outside, 'secret'), 'container file\n');
    const tar = await collect(packPath(root, '/abs/secret'));
    assert.match(tar.toString('latin1'), /container file/);
    assert.not.match(tar.toString('latin1'), /host secret/);
  } finally { s.done(); }
});

test('hostile archives: .. names and escaping links refused, absolute links and pre-existing links confined', async () => {
  const s = setup();
  try {
    const root = new ScopedRoot(s.root);
    const before = tree(s.outside);
    const refuse = async (entries: RawTarEntry[], what: RegExp) => {
      const err = await extractInto(root, '/etc', once(rawTar(entries))).then(() => undefined, (e: unknown) => e);
      assert.instance(err, ArchiveError);
      assert.is((err as ArchiveError).status, 400);
      assert.match((err as Error).message, what);
    };
    await refuse([{ path: '../../../outside/pwned', data: 'x' }], /outside the destination/);
    await refuse([{ path: 'l', type: '2', linkname: '../../../outside' }], /invalid symlink/);
    await refuse([{ path: 'h', type: '1', linkname: '../../outside/secret' }], /outside the destination/);
    await refuse([{ path: 'dev', type: '3' }], /device/);
    // Symlink then file through it: absolute target, confined to the root.
    await extractInto(root, '/etc', once(rawTar([{ path: 'l', type: '2', linkname: s.outside }, { path: 'l/pwned', data: 'x' }])));
    assert.is(readFileSync(join(s.root, s.outside, 'pwned'), 'utf8'), 'x');
    // A link the container planted: writing through it stays in the root.
    symlinkSync(s.outside, join(s.root, 'planted'));
    await extractInto(root, '/', once(rawTar([{ path: 'planted/pwned2', data: 'y' }])));
    assert.is(readFileSync(join(s.root, s.outside, 'pwned2'), 'utf8'), 'y');
    // Extracting INTO a link to the host: the destination itself resolves in the root.
    await extractInto(root, '/planted', once(rawTar([{ path: 'pwned3', data: 'z' }])));
    assert.ok(lstatSync(join(s.root, s.outside, 'pwned3')).isFile());
    // An existing link at an entry's name is replaced, not written through.
    symlinkSync(join(s.outside, 'secret'), join(s.root, 'etc', 'passwd'));
    await extractInto(root, '/etc', once(rawTar([{ path: 'passwd', data: 'root:x:0:0\n' }])));
    assert.ok(lstatSync(join(s.root, 'etc', 'passwd')).isFile());
    assert.equal(tree(s.outside), before);
    assert.is(readFileSync(join(s.outside, 'secret'), 'utf8'), 'host secret\n');
    const missing = await extractInto(root, '/nosuch', once(rawTar([]))).catch((e: ArchiveError) => e);
    assert.is((missing as ArchiveError).status, 404);
    const notDir = await extractInto(root, '/etc/hosts', once(rawTar([]))).catch((e: ArchiveError) => e);
    assert.is((notDir as ArchiveError).status, 400);
  } finally { s.done(); }
});

test('owners come from the archive only with copyUIDGID (docker cp -a)', async () => {
  const s = setup();
  try {
    const tar = () => once(rawTar([{ path: 'owned', data: 'x', mode: 0o600, pax: { uid: '1234', gid: '5678' } }, { path: 'd', type: '5', pax: { uid: '1234', gid: '5678' } }]));
    await extractInto(new ScopedRoot(s.root), '/etc', tar(), { copyUidGid: true });
    assert.equal([statSync(join(s.root, 'etc', 'owned')).uid, statSync(join(s.root, 'etc', 'owned')).gid], [1234, 5678]);
    assert.is(statSync(join(s.root, 'etc', 'd')).uid, 1234);
    await extractInto(new ScopedRoot(s.root), '/etc', tar());
    assert.is(statSync(join(s.root, 'etc', 'owned')).uid, process.getuid!(), 'without -a: the daemon\'s user (root)');
  } finally { s.done(); }
});

test('linkStaysInside follows Docker: relative targets may not leave, absolute ones are the container\'s', () => {
  assert.ok(linkStaysInside(['a', 'l'], '../b'));
  assert.not.ok(linkStaysInside(['l'], '../b'));
  assert.ok(linkStaysInside(['l'], '/etc/passwd'));
  assert.not.ok(linkStaysInside(['a', 'b', 'l'], '../../../x'));
});

const hostileName = fc.array(fc.constantFrom('a', 'b', 'l', 'm', '..', '.', ''), { minLength: 1, maxLength: 4 }).map((cs) => cs.join('/'));
const hostileEntry: fc.Arbitrary<RawTarEntry> = fc.oneof(
  hostileName.map((path) => ({ path, data: 'p' })),
  hostileName.map((path) => ({ path, type: '5' })),
  fc.tuple(hostileName, fc.oneof(hostileName, fc.constant('/'), fc.constant('OUTSIDE'), fc.constant('../../..'))).map(([path, linkname]) => ({ path, type: '2', linkname })),
  fc.tuple(hostileName, hostileName).map(([path, linkname]) => ({ path, type: '1', linkname })),
);

test('no archive, however hostile, changes anything outside the root', async () => {
  const s = setup();
  try {
    const before = tree(s.outside);
    let n = 0;
    await fc.assert(fc.asyncProperty(fc.array(hostileEntry, { maxLength: 8 }), async (entries) => {
      const dest = `/d${n++}`;
      mkdirSync(join(s.root, dest));
      symlinkSync(s.outside, join(s.root, dest, 'OUTSIDE'));
      const fixed = entries.map((e) => (e.linkname === 'OUTSIDE' ? { ...e, linkname: s.outside } : e));
      await extractInto(new ScopedRoot(s.root), dest, once(rawTar(fixed))).catch((e: unknown) => {
        if (!(e instanceof ArchiveError)) throw e;
      });
      assert.equal(tree(s.outside), before);
      assert.equal(readdirSync(s.base).sort(), ['outside', 'root']);
    }), { numRuns: 300 });
  } finally { s.done(); }
});

test.run();
