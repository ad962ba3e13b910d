// Images against a real registry (Debian's docker-registry on 127.0.0.1), through a
// small proxy that adds bearer-token auth, counts requests and can corrupt a blob.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { startRegistry, pushTestImages, type RunningRegistry, type PushedTestImages } from '../../labs/lib/registry.ts';
import { writeOciTarball } from '../../labs/lib/test-image.ts';
import { writeTar } from '../../labs/lib/tar.ts';
import { ImageService } from './image-service.ts';
import { unpackLayer } from './unpack.ts';
import { MT } from './media.ts';

interface Env { base: string; reg: RunningRegistry; pushed: PushedTestImages; proxy: Server; proxyAddr: string; hits: Map<string, number>; corrupt: Set<string> }
const env = {} as Env;
const t = suite('images');

t.before(async () => {
  env.base = mkdtempSync(join(tmpdir(), 'shoal-images-'));
  env.reg = await startRegistry({ listen: '127.0.0.1:0', dataDir: join(env.base, 'registry') });
  env.pushed = await pushTestImages(env.reg.address, { workDir: join(env.base, 'push') });
  env.hits = new Map();
  env.corrupt = new Set();
  env.proxy = createServer(async (req, res) => {
    const url = req.url ?? '/';
    const addr = env.proxyAddr;
    if (url.startsWith('/token')) {
      const ok = req.headers.authorization === `Basic ${Buffer.from('alice:pw').toString('base64')}`;
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' }).end(ok ? JSON.stringify({ token: 'tok-1' }) : '{}');
      return;
    }
    if (req.headers.authorization !== 'Bearer tok-1') {
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${addr}/token",service="test",scope="repository:shoal/bb:pull"`, 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
      return;
    }
    env.hits.set(url, (env.hits.get(url) ?? 0) + 1);
    const up = await fetch(`http://${env.reg.address}${url}`, { headers: { accept: req.headers.accept ?? '*/*' } });
    let body = Buffer.from(await up.arrayBuffer());
    const digest = url.split('/blobs/')[1];
    if (digest && env.corrupt.has(digest)) { body = Buffer.from(body); body[body.length - 1] ^= 0xff; }
    const headers: Record<string, string> = {};
    for (const h of ['content-type', 'docker-content-digest']) { const v = up.headers.get(h); if (v) headers[h] = v; }
    headers['content-length'] = String(body.length);
    res.writeHead(up.status, headers).end(body);
  });
  await new Promise<void>((r) => env.proxy.listen(0, '127.0.0.1', r));
  const a = env.proxy.address() as { port: number };
  env.proxyAddr = `127.0.0.1:${a.port}`;
});

t.after(async () => {
  await new Promise((r) => env.proxy?.close(r));
  await env.reg?.stop();
  rmSync(env.base, { recursive: true, force: true });
});

function fresh(opts: { auth?: boolean } = {}): ImageService {
  const root = mkdtempSync(join(env.base, 'store-'));
  return new ImageService({
    root, insecureRegistries: [env.reg.address, env.proxyAddr],
    credentials: opts.auth ? (h) => (h === env.proxyAddr ? { username: 'alice', password: 'pw' } : undefined) : undefined,
  });
}

/** Nothing in the store: no records, blobs, layers or temp files. */
function assertEmpty(s: ImageService): void {
  assert.equal(s.list(), []);
  assert.equal(readdirSync(join(s.root, 'blobs', 'sha256')), []);
  assert.equal(existsSync(join(s.root, 'layers')) ? readdirSync(join(s.root, 'layers')) : [], []);
  assert.equal(readdirSync(join(s.root, 'tmp')), []);
}

t('pull from the lab registry stores blobs, unpacks the layer and records the image', async () => {
  const s = fresh();
  const statuses: string[] = [];
  const ref = `${env.reg.address}/shoal/bb:v1`;
  const rec = await s.pull(ref, (p) => statuses.push(p.status));
  assert.equal(rec.repoTags, [ref]);
  assert.ok(rec.repoDigests[0].endsWith(env.pushed.tags.v1!.digest));
  assert.ok(statuses.includes('Pull complete'));
  assert.ok(statuses.at(-1)!.startsWith('Status: Downloaded newer image'));
  const run = await s.resolveForRun(ref);
  assert.equal(run.config.Cmd, ['httpd', '-f', '-p', '80', '-h', '/www']);
  assert.is(readFileSync(join(run.layers[0], 'www', 'VERSION'), 'utf8').trim(), 'v1');
  const again: string[] = [];
  await s.pull(ref, (p) => again.push(p.status));
  assert.ok(again.includes('Already exists') && again.at(-1)!.startsWith('Status: Image is up to date'));
  assert.is(s.get(rec.id.slice(7, 19)).id, rec.id, 'short IDs resolve');
});

t('bearer-token auth: basic credentials buy a token; without them the pull is refused', async () => {
  const s = fresh({ auth: true });
  const rec = await s.pull(`${env.proxyAddr}/shoal/bb:v2`);
  assert.is(readFileSync(join((await s.resolveForRun(rec.id)).layers[0], 'www', 'VERSION'), 'utf8').trim(), 'v2');
  const anon = fresh();
  await anon.pull(`${env.proxyAddr}/shoal/bb:v2`).then(() => assert.unreachable('pulled'), (e: Error) => {
    assert.is(e.name, 'RegistryAuthError');
  });
  assertEmpty(anon);
});

t('concurrent pulls of one image share one download', async () => {
  const s = fresh({ auth: true });
  env.hits.clear();
  const ref = `${env.proxyAddr}/shoal/bb:v1`;
  const seenA: string[] = [];
  const seenB: string[] = [];
  const [a, b, c] = await Promise.all([s.pull(ref, (p) => seenA.push(p.status)), s.pull(ref, (p) => seenB.push(p.status)), s.pull(ref)]);
  assert.is(a.id, b.id);
  assert.is(b.id, c.id);
  const layer = `/v2/shoal/bb/blobs/${env.pushed.tags.v1 && s.get(ref).layers[0].digest}`;
  assert.is(env.hits.get(layer), 1, JSON.stringify([...env.hits]));
  assert.ok(seenA.includes('Pull complete') && seenB.includes('Pull complete'), 'both callers see progress');
});

t('bad reference, unknown registry, unknown tag and digest mismatch: clear errors, nothing left behind', async () => {
  const s = fresh({ auth: true });
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const deadPort = (closed.address() as { port: number }).port;
  await new Promise((r) => closed.close(r));
  const cases: [string, string, RegExp][] = [
    ['Bad/Name', 'InvalidReferenceError', /invalid reference format/],
    [`127.0.0.1:${deadPort}/shoal/bb:v1`, 'RegistryUnreachableError', /registry 127\.0\.0\.1:\d+ unreachable: ECONNREFUSED/],
    [`${env.reg.address}/shoal/bb:nope`, 'ManifestUnknownError', /manifest for .*shoal\/bb:nope not found/],
    [`${env.reg.address}/shoal/bb@sha256:${'0'.repeat(64)}`, 'ManifestUnknownError', /not found/],
  ];
  for (const [ref, name, msg] of cases) {
    await s.pull(ref).then(() => assert.unreachable(ref), (e: Error) => {
      assert.is(e.name, name, `${ref}: ${e.message}`);
      assert.match(e.message, msg);
    });
  }
  const man = JSON.parse(readFileSync(join(env.pushed.layoutDir, 'blobs', 'sha256', env.pushed.tags.v1!.digest.slice(7)), 'utf8'));
  env.corrupt.add(man.layers[0].digest);
  try {
    await s.pull(`${env.proxyAddr}/shoal/bb:v1`).then(() => assert.unreachable('corrupt'), (e: Error) => {
      assert.is(e.name, 'DigestMismatchError');
      assert.match(e.message, /digest mismatch for layer/);
    });
  } finally { env.corrupt.clear(); }
  assertEmpty(s);
});

t('image load: an OCI layout tarball and a docker-save tarball', async () => {
  const s = fresh();
  const withManifest = join(env.base, 'save.tar');
  writeOciTarball(env.pushed.layoutDir, withManifest);
  const lines: string[] = [];
  const recs = await s.load(withManifest, (l) => lines.push(l));
  assert.equal(lines, ['Loaded image: shoal/bb:v1', 'Loaded image: shoal/bb:v2']);
  assert.is(readFileSync(join((await s.resolveForRun('shoal/bb:v2')).layers[0], 'www', 'VERSION'), 'utf8').trim(), 'v2');
  assert.is(recs.length, 2);
  const oci = fresh();
  const pure = join(env.base, 'oci.tar');
  writeOciTarball(env.pushed.layoutDir, pure, { repoTag: null });
  const r2 = await oci.load(pure);
  assert.equal(r2.map((r) => r.id).sort(), recs.map((r) => r.id).sort(), 'same image IDs from the OCI layout');
  const junk = join(env.base, 'junk.tar');
  writeFileSync(junk, 'not a tar at all');
  const j = fresh();
  await j.load(junk).then(() => assert.unreachable('junk'), (e: Error) => assert.is(e.name, 'BadArchiveError'));
  assertEmpty(j);
});

t('rm untags first, deletes on the last tag, refuses an image in use; prune removes unused', async () => {
  const s = fresh();
  const tar = join(env.base, 'rm.tar');
  writeOciTarball(env.pushed.layoutDir, tar);
  await s.load(tar);
  const v1 = s.get('shoal/bb:v1');
  s.store.put({ ...v1, repoTags: ['other:x'] });
  assert.equal(s.remove('other:x'), [{ Untagged: 'other:x' }]);
  s.inUse = (id) => id === v1.id;
  assert.throws(() => s.remove('shoal/bb:v1'), (e: Error) => e.name === 'ImageInUseError' && /conflict/.test(e.message));
  assert.is(s.prune({ all: true }).ImagesDeleted.filter((d) => d.Deleted).length, 1, 'only v2 is unused');
  s.inUse = () => false;
  const out = s.remove(v1.id);
  assert.equal(out.at(-1), { Deleted: v1.id });
  assertEmpty(s);
});

t('whiteouts and opaque directories become overlayfs whiteouts', async () => {
  const dir = mkdtempSync(join(env.base, 'wh-'));
  const mnt = join(dir, 'mnt');
  mkdirSync(mnt);
  const layer = (entries: Parameters<typeof writeTar>[0]) => {
    const tar = writeTar(entries);
    const digest = `sha256:${createHash('sha256').update(tar).digest('hex')}`;
    const p = join(dir, digest.slice(7));
    writeFileSync(p, tar);
    return unpackLayer(dir, { blob: p, mediaType: MT.ociLayerTar, diffId: digest });
  };
  const data = Buffer.from('x');
  const l1 = await layer([{ type: 'dir', path: 'a' }, { type: 'file', path: 'a/x', data }, { type: 'file', path: 'a/keep', data }, { type: 'dir', path: 'b' }, { type: 'file', path: 'b/y', data }]);
  const l2 = await layer([{ type: 'dir', path: 'a' }, { type: 'file', path: 'a/.wh.x', data: Buffer.alloc(0) }, { type: 'dir', path: 'b' }, { type: 'file', path: 'b/.wh..wh..opq', data: Buffer.alloc(0) }, { type: 'file', path: 'b/z', data }]);
  mkdirSync(join(dir, 'up')); mkdirSync(join(dir, 'work'));
  const m = spawnSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${l2}:${l1},upperdir=${join(dir, 'up')},workdir=${join(dir, 'work')}`, mnt]);
  assert.is(m.status, 0, String(m.stderr));
  try {
    assert.equal(readdirSync(join(mnt, 'a')).sort(), ['keep']);
    assert.equal(readdirSync(join(mnt, 'b')).sort(), ['z']);
  } finally {
    spawnSync('umount', [mnt]);
  }
});

t('zstd and gzip layers unpack; a diffID mismatch is refused and leaves no layer', async () => {
  const dir = mkdtempSync(join(env.base, 'z-'));
  const tar = writeTar([{ type: 'dir', path: 'etc' }, { type: 'file', path: 'etc/hello', data: Buffer.from('zstd\n') }]);
  const diffId = `sha256:${createHash('sha256').update(tar).digest('hex')}`;
  const zst = spawnSync('zstd', ['-q', '-c'], { input: tar });
  assert.is(zst.status, 0);
  writeFileSync(join(dir, 'layer.zst'), zst.stdout);
  const out = await unpackLayer(dir, { blob: join(dir, 'layer.zst'), mediaType: MT.ociLayerZstd, diffId });
  assert.is(readFileSync(join(out, 'etc', 'hello'), 'utf8'), 'zstd\n');
  writeFileSync(join(dir, 'layer.gz'), gzipSync(tar));
  const wrong = `sha256:${'1'.repeat(64)}`;
  await unpackLayer(dir, { blob: join(dir, 'layer.gz'), mediaType: MT.ociLayerGzip, diffId: wrong }).then(() => assert.unreachable('accepted'), (e: Error) => assert.is(e.name, 'DigestMismatchError'));
  assert.equal(readdirSync(join(dir, 'layers')), [diffId.slice(7)]);
});

t.run();
