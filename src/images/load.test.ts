// image load of hostile tarballs: links out of the archive, FIFOs, bad digests.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageService } from './image-service.ts';
import { rawTar, sha256Of, type RawTarEntry } from './testing-tar.ts';

const layer = rawTar([{ path: 'hello', data: 'hi\n' }]);
const config = (diffIds = [sha256Of(layer)]) => JSON.stringify({ os: 'linux', architecture: 'amd64', rootfs: { type: 'layers', diff_ids: diffIds } });
const SECRET = 'root:x:0:0:HOST-SECRET-LINE:/root:/bin/sh\n';

function withLoad(fn: (load: (entries: RawTarEntry[]) => Promise<Error | undefined>, host: string, s: ImageService) => Promise<void>): () => Promise<void> {
  return async () => {
    const base = mkdtempSync(join(tmpdir(), 'shoal-load-'));
    const host = join(base, 'host-file');
    writeFileSync(host, SECRET);
    const s = new ImageService({ root: join(base, 'images') });
    try {
      await fn(async (entries) => {
        const tar = join(base, 'in.tar');
        writeFileSync(tar, rawTar(entries));
        const err = await s.load(tar).then(() => undefined, (e: Error) => e);
        assert.equal(s.list(), [], 'no image recorded');
        assert.equal(readdirSync(join(s.root, 'tmp')), [], 'nothing left in tmp');
        if (err) assert.not.match(err.message, /HOST-SECRET/, 'no host content in the error');
        return err;
      }, host, s);
    } finally { rmSync(base, { recursive: true, force: true }); }
  };
}

const docker = (layers: string[], cfg = 'cfg.json') => ({ path: 'manifest.json', data: JSON.stringify([{ Config: cfg, RepoTags: ['x/y:1'], Layers: layers }]) });

test('manifest.json as a symlink or hard link to a host file is refused, never read', withLoad(async (load, host) => {
  let err = await load([{ path: 'manifest.json', type: '2', linkname: host }]);
  assert.match(err!.message, /"manifest\.json" is a link to .*outside the archive/);
  err = await load([{ path: 'manifest.json', type: '2', linkname: '../../../../../../../..' + host }]);
  assert.match(err!.message, /leads outside the archive/);
  err = await load([{ path: 'manifest.json', type: '1', linkname: '../../../../../../../..' + host }]);
  assert.match(err!.message, /leads outside the archive/);
  assert.is(err!.name, 'BadArchiveError');
}));

test('a config or layer linked to a host file is refused', withLoad(async (load, host) => {
  const err = await load([docker(['l.tar'], 'cfg.json'), { path: 'cfg.json', type: '2', linkname: host }, { path: 'l.tar', data: layer }]);
  assert.match(err!.message, /"cfg\.json" is a link to .*outside the archive/);
  const err2 = await load([docker(['l.tar']), { path: 'cfg.json', data: config() }, { path: 'l.tar', type: '2', linkname: host }]);
  assert.match(err2!.message, /"l\.tar" is a link to .*outside the archive/);
}));

test('a FIFO or device entry refuses the archive at once (load never blocks on it)', withLoad(async (load) => {
  const err = await load([docker(['l.tar']), { path: 'cfg.json', data: config() }, { path: 'l.tar', type: '6' }]);
  assert.match(err!.message, /entry "l\.tar" is a FIFO/);
  const err2 = await load([{ path: 'manifest.json', type: '3' }]);
  assert.match(err2!.message, /entry "manifest\.json" is a device/);
}));

test('entries under a link of the archive and absolute entries are refused', withLoad(async (load, host) => {
  let err = await load([{ path: 'd', type: '2', linkname: join(host, '..') }, { path: 'd/pwned', data: 'x' }]);
  assert.match(err!.message, /lies under "d", which is not a directory/);
  err = await load([{ path: join(host, '..', 'pwned'), data: 'x' }]);
  assert.match(err!.message, /absolute path/);
}));

test('digests in index.json and diff_ids are checked', withLoad(async (load) => {
  const idx = { path: 'index.json', data: JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: 'sha256:../../../x', size: 1 }] }) };
  let err = await load([idx]);
  assert.match(err!.message, /invalid digest "sha256:\.\.\/\.\.\/\.\.\/x" for index\.json: manifests\[0\]/);
  err = await load([docker(['l.tar']), { path: 'cfg.json', data: config(['sha256:../../swarm']) }, { path: 'l.tar', data: layer }]);
  assert.match(err!.message, /invalid digest "sha256:\.\.\/\.\.\/swarm" for config cfg\.json: diff_ids\[0\]/);
}));

test('links inside the archive are followed (docker save links repeated layers)', async () => {
  if (process.getuid?.() !== 0) { console.log('  (skipped: needs root)'); return; }
  const base = mkdtempSync(join(tmpdir(), 'shoal-load-'));
  try {
    const s = new ImageService({ root: join(base, 'images') });
    writeFileSync(join(base, 'in.tar'), rawTar([
      { path: 'cfg-real.json', data: config([sha256Of(layer), sha256Of(layer)]) },
      docker(['a/layer.tar', 'b/layer.tar'], 'c/cfg.json'),
      { path: 'a', type: '5' }, { path: 'a/layer.tar', data: layer },
      { path: 'b', type: '5' }, { path: 'b/layer.tar', type: '2', linkname: '../a/layer.tar' },
      { path: 'c', type: '5' }, { path: 'c/cfg.json', type: '1', linkname: 'cfg-real.json' },
    ]));
    const recs = await s.load(join(base, 'in.tar'));
    assert.equal(recs[0].repoTags, ['x/y:1']);
    assert.is(recs[0].layers.length, 2);
  } finally { rmSync(base, { recursive: true, force: true }); }
});

test.run();
