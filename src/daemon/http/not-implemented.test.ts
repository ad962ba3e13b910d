import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { withServer } from './test-server.ts';
import { Router } from '../../common/router.ts';
import { NotImplementedTable, dockerEndpoints } from './not-implemented.ts';

const table = new NotImplementedTable(dockerEndpoints());

async function call(port: number, method: string, path: string) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method });
  return { status: res.status, body: JSON.parse(await res.text()) as { message: string } };
}

test('the table holds every endpoint of the v1.41 spec', () => {
  const all = dockerEndpoints();
  assert.is(all.length, 106);
  assert.ok(all.some((e) => e.method === 'POST' && e.path === '/build' && e.tag === 'Image'));
});

test('spec paths match with their parameters; image names may hold slashes', () => {
  assert.equal(table.find('post', '/build'), { method: 'POST', path: '/build', tag: 'Image' });
  assert.is(table.find('GET', '/plugins')?.path, '/plugins');
  assert.is(table.find('POST', '/containers/abc/attach')?.path, '/containers/{id}/attach');
  assert.is(table.find('POST', '/images/reg.example:5000/org/app/push')?.path, '/images/{name}/push');
  assert.is(table.find('GET', '/containers/a/b/json'), undefined);
  assert.is(table.find('PUT', '/build'), undefined);
  assert.is(table.find('GET', '/nope'), undefined);
});

test('the router answers 501 naming a Docker endpoint no route takes; others stay 404/405', async () => {
  const router = new Router({ notImplemented: table }).get('/_ping', () => 'OK').get('/things', () => []);
  await withServer(router, async (port) => {
    const build = await call(port, 'POST', '/build');
    assert.is(build.status, 501);
    assert.is(build.body.message, 'shoal: POST /build is not implemented');
    const plugins = await call(port, 'GET', '/v1.41/plugins');
    assert.is(plugins.status, 501);
    assert.is(plugins.body.message, 'shoal: GET /plugins is not implemented');
    const session = await call(port, 'POST', '/session');
    assert.is(session.status, 501);
    assert.match(session.body.message, /^shoal: POST \/session is not implemented$/);
    const head = await fetch(`http://127.0.0.1:${port}/containers/abc/archive`, { method: 'HEAD' });
    assert.is(head.status, 501);
    assert.is((await call(port, 'GET', '/_ping')).status, 200);
    assert.is((await call(port, 'GET', '/nope')).status, 404);
    assert.is((await call(port, 'DELETE', '/things')).status, 405);
  });
});

test('without a table the router keeps answering 404 for Docker paths', async () => {
  await withServer(new Router(), async (port) => {
    const r = await call(port, 'POST', '/build');
    assert.is(r.status, 404);
    assert.match(r.body.message, /page not found/);
  });
});

test.run();
