// The image endpoints over the control API socket, against the lab registry.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import { startRegistry, pushTestImages } from '../../../labs/lib/registry.ts';
import { writeOciTarball } from '../../../labs/lib/test-image.ts';
import { Router } from '../../common/router.ts';
import { listenUnix, closeServer } from '../http/unix-server.ts';
import { ImageService } from '../../images/image-service.ts';
import { addImageRoutes } from './images.ts';
import { addPruneRoutes } from './prune.ts';

function call(sock: string, method: string, path: string, body?: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: sock, method, path: `/v1.41${path}` }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d) => (text += d)).on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('pull streams progress, list/inspect/delete take names with slashes, load takes a tar body, prune, errors map to status codes', async () => {
  const base = mkdtempSync(join(tmpdir(), 'shoal-image-routes-'));
  const reg = await startRegistry({ listen: '127.0.0.1:0', dataDir: join(base, 'registry') });
  const sock = join(base, 'api.sock');
  const images = new ImageService({ root: join(base, 'images'), insecureRegistries: [reg.address] });
  const router = new Router();
  addImageRoutes(router, { images });
  addPruneRoutes(router, { images, swarm: () => undefined });
  const server = await listenUnix(router.listener, sock);
  try {
    const pushed = await pushTestImages(reg.address, { workDir: join(base, 'push') });
    const name = `${reg.address}/shoal/bb`;
    const pull = await call(sock, 'POST', `/images/create?fromImage=${encodeURIComponent(name)}&tag=v1`);
    assert.is(pull.status, 200);
    const lines = pull.text.trim().split('\r\n').map((l) => JSON.parse(l));
    assert.equal(lines[0], { status: 'Pulling from shoal/bb', id: 'v1' });
    assert.match(lines.at(-1).status, /^Status: Downloaded newer image for/);

    const unknown = await call(sock, 'POST', `/images/create?fromImage=${encodeURIComponent(name)}&tag=nope`);
    assert.is(unknown.status, 404);
    assert.match(JSON.parse(unknown.text).message, /not found/);
    assert.is((await call(sock, 'POST', '/images/create?fromImage=UPPER')).status, 400);

    const list = JSON.parse((await call(sock, 'GET', '/images/json')).text);
    assert.equal(list.map((i: { RepoTags: string[] }) => i.RepoTags), [[`${name}:v1`]]);
    const insp = await call(sock, 'GET', `/images/${name}:v1/json`);
    assert.is(insp.status, 200);
    assert.equal(JSON.parse(insp.text).Config.Cmd, ['httpd', '-f', '-p', '80', '-h', '/www']);
    assert.is((await call(sock, 'GET', '/images/nothing:here/json')).status, 404);

    writeOciTarball(pushed.layoutDir, join(base, 'bb.tar'));
    const load = await call(sock, 'POST', '/images/load', readFileSync(join(base, 'bb.tar')));
    assert.is(load.status, 200);
    assert.equal(load.text.trim().split('\r\n').map((l) => JSON.parse(l).stream), ['Loaded image: shoal/bb:v1\n', 'Loaded image: shoal/bb:v2\n']);
    assert.is((await call(sock, 'POST', '/images/load', Buffer.from('junk'))).status, 400);

    const del = await call(sock, 'DELETE', `/images/${name}:v1`);
    assert.equal(JSON.parse(del.text), [{ Untagged: `${name}:v1` }]);
    const prune = JSON.parse((await call(sock, 'POST', `/images/prune?filters=${encodeURIComponent('{"dangling":["false"]}')}`)).text);
    assert.is(prune.ImagesDeleted.filter((d: { Deleted?: string }) => d.Deleted).length, 2);
    assert.equal(JSON.parse((await call(sock, 'GET', '/images/json')).text), []);
  } finally {
    await closeServer(server, sock);
    await reg.stop();
    rmSync(base, { recursive: true, force: true });
  }
});

test.run();
