import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hostPlatform, isIndex, layerCompression, MT, parseChallenge, selectPlatform } from './media.ts';

test('bearer challenge parameters are parsed with quotes and commas', () => {
  const c = parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push"');
  assert.is(c?.scheme, 'bearer');
  assert.equal(c?.params, { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull,push' });
  assert.equal(parseChallenge('Basic realm="r"')?.params, { realm: 'r' });
});

test('platform selection takes os/arch and prefers a matching variant', () => {
  const idx = { schemaVersion: 2, manifests: [
    { mediaType: MT.ociManifest, digest: 'a', size: 1, platform: { os: 'linux', architecture: 'arm', variant: 'v6' } },
    { mediaType: MT.ociManifest, digest: 'b', size: 1, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
    { mediaType: MT.ociManifest, digest: 'c', size: 1, platform: { os: 'linux', architecture: 'amd64' } },
    { mediaType: MT.ociManifest, digest: 'd', size: 1, platform: { os: 'windows', architecture: 'amd64' } },
  ] };
  assert.is(selectPlatform(idx, hostPlatform('x64'))?.digest, 'c');
  assert.is(selectPlatform(idx, hostPlatform('arm'))?.digest, 'b');
  assert.is(selectPlatform(idx, hostPlatform('s390x')), undefined);
});

test('index detection by media type or by shape', () => {
  assert.ok(isIndex(MT.dockerList));
  assert.not.ok(isIndex(MT.dockerManifest, { manifests: [] }));
  assert.ok(isIndex(undefined, { manifests: [] }));
});

test('layer compression follows the media type', () => {
  assert.is(layerCompression(MT.ociLayerGzip), 'gzip');
  assert.is(layerCompression(MT.dockerLayerGzip), 'gzip');
  assert.is(layerCompression(MT.ociLayerTar), 'none');
  assert.is(layerCompression(MT.ociLayerZstd), 'zstd');
  assert.throws(() => layerCompression('application/x-foo'));
});

test.run();
