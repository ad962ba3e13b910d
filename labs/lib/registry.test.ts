// Loopback only: docker-registry on 127.0.0.1 with a free port, our push, then reads back.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive } from './procs.ts';
import { pushTestImages, REGISTRY_BIN, startRegistry } from './registry.ts';

test('registry on loopback serves both pushed test image tags', async () => {
  // scripts/setup.sh installs it: a missing registry is a broken setup, not a pass.
  assert.ok(existsSync(REGISTRY_BIN), `${REGISTRY_BIN} is missing: run scripts/setup.sh`);
  const dir = mkdtempSync(join(tmpdir(), 'shoal-reg-'));
  const reg = await startRegistry({ listen: '127.0.0.1:0', dataDir: join(dir, 'reg') });
  try {
    assert.match(reg.address, /^127\.0\.0\.1:\d+$/);
    const pushed = await pushTestImages(reg.address, { workDir: join(dir, 'img') });
    assert.is.not(pushed.tags.v1!.digest, pushed.tags.v2!.digest);
    for (const v of ['v1', 'v2'] as const) {
      const res = await fetch(`http://${reg.address}/v2/shoal/bb/manifests/${v}`, {
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
      });
      assert.is(res.status, 200);
      assert.is(res.headers.get('docker-content-digest'), pushed.tags[v]!.digest);
      await res.arrayBuffer();
    }
    // A second push of the same image changes nothing: the same digest is served.
    const again = await pushTestImages(reg.address, { workDir: join(dir, 'img'), versions: ['v1'] });
    assert.is(again.tags.v1!.digest, pushed.tags.v1!.digest);
    const res = await fetch(`http://${reg.address}/v2/shoal/bb/manifests/v1`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.is(res.headers.get('docker-content-digest'), pushed.tags.v1!.digest);
  } finally {
    await reg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  assert.not.ok(isAlive(reg.pid));
});

test.run();
