import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkDigest, isDigest } from './digest.ts';
import { ContentStore } from './content-store.ts';
import { layerDir } from './unpack.ts';
import { ImageStore } from './image-store.ts';
import { checkDiffIds, checkIndex, checkManifest, MT } from './media.ts';
import { ImageService } from './image-service.ts';
import { startTestingRegistry } from './testing-registry.ts';
import { rawTar } from './testing-tar.ts';

const good = `sha256:${'a'.repeat(64)}`;
const EVIL = 'sha256:../../swarm';

test('only sha256 with 64 lowercase hex digits is a digest', () => {
  assert.ok(isDigest(good));
  for (const d of [EVIL, `sha256:${'A'.repeat(64)}`, `sha256:${'a'.repeat(63)}`, `sha512:${'a'.repeat(64)}`, 'a'.repeat(64), `sha256:${'a'.repeat(64)}\n`, 7, undefined]) {
    assert.not.ok(isDigest(d), String(d));
  }
  assert.throws(() => checkDigest(EVIL, 'diff_ids[0]'), (e: Error) => e.name === 'InvalidDigestError' && /invalid digest "sha256:\.\.\/\.\.\/swarm" for diff_ids\[0\]/.test(e.message));
});

test('a digest never becomes a path unless well formed: layer dirs and blob paths', () => {
  assert.throws(() => layerDir('/data/images', EVIL), /invalid digest/);
  assert.is(layerDir('/data/images', good), `/data/images/layers/${'a'.repeat(64)}`);
  const dir = mkdtempSync(join(tmpdir(), 'shoal-digest-'));
  try {
    const cs = new ContentStore(dir);
    assert.throws(() => cs.path(EVIL), /invalid digest/);
    assert.throws(() => cs.has(`sha256:../../../etc/passwd${'0'.repeat(40)}`), /invalid digest/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('manifests, indexes and diff_ids are checked where they are parsed', () => {
  const m = { schemaVersion: 2, config: { mediaType: MT.ociConfig, digest: good, size: 2 }, layers: [{ mediaType: MT.ociLayerTar, digest: EVIL, size: 1 }] };
  assert.throws(() => checkManifest(m, 'manifest x'), /invalid digest .* for manifest x: layer 0/);
  assert.throws(() => checkManifest({ ...m, config: { ...m.config, digest: EVIL } }, 'manifest x'), /for manifest x: config/);
  assert.throws(() => checkManifest({ ...m, layers: [{ mediaType: MT.ociLayerTar, digest: good, size: -1 }] }, 'manifest x'), /size must be a non-negative integer/);
  assert.throws(() => checkIndex({ manifests: [{ digest: EVIL }] }, 'index'), /for index: manifests\[0\]/);
  assert.throws(() => checkDiffIds({ rootfs: { diff_ids: [EVIL] } }, 1, 'config'), /for config: diff_ids\[0\]/);
  assert.throws(() => checkDiffIds({ rootfs: { diff_ids: [good] } }, 2, 'config'), /config lists 1 layers, manifest 2/);
});

test('an image record on disk with a bad digest is not trusted', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-digest-'));
  try {
    const rec = (diffId: string, id: string) => ({ id, repoTags: [], repoDigests: [], manifestDigest: good, layers: [{ digest: good, mediaType: 'x', size: 1, diffId }], created: '', size: 1, os: 'linux', architecture: 'amd64' });
    const ok = rec(good, `sha256:${'b'.repeat(64)}`);
    writeFileSync(join(dir, 'images.json'), JSON.stringify([rec(EVIL, `sha256:${'c'.repeat(64)}`), ok, { id: EVIL }]));
    const s = new ImageStore(dir);
    assert.equal(s.list().map((r) => r.id), [ok.id]);
    assert.throws(() => s.put(rec(EVIL, `sha256:${'d'.repeat(64)}`)), /invalid digest/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('pull refuses a config whose diff_ids escape the layers folder, and no host folder becomes a layer', async () => {
  const base = mkdtempSync(join(tmpdir(), 'shoal-digest-'));
  const reg = await startTestingRegistry();
  try {
    mkdirSync(join(base, 'swarm'));
    writeFileSync(join(base, 'swarm', 'node.key'), 'secret');
    reg.addImage('evil/x', 'v1', { layers: [rawTar([{ path: 'a', data: 'x' }])], diffIds: [EVIL] });
    const s = new ImageService({ root: join(base, 'images'), insecureRegistries: [reg.host] });
    const err = await s.pull(`${reg.host}/evil/x:v1`).then(() => undefined, (e: Error) => e);
    assert.ok(err, 'pull was refused');
    assert.is(err!.name, 'InvalidDigestError');
    assert.match(err!.message, /invalid digest "sha256:\.\.\/\.\.\/swarm" for image config of .*: diff_ids\[0\]/);
    assert.equal(s.list(), []);
    assert.equal(readdirSync(join(base, 'swarm')), ['node.key'], 'the host folder is untouched');
  } finally {
    await reg.close();
    rmSync(base, { recursive: true, force: true });
  }
});

test.run();
